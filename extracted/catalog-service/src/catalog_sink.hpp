#pragma once
// How the monolith's product events and snapshot rows land in catalog-service's tables.
#include "banyan/sync/entity_sink.hpp"

namespace catalog {

class catalog_sink final : public banyan::sync::entity_sink {
 public:
  std::string_view aggregate() const override { return "product"; }
  banyan::sync::apply_outcome apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row,
                                        banyan::sync::sync_phase phase) override;
  banyan::sync::apply_outcome apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                          banyan::sync::sync_phase phase) override;
};

}  // namespace catalog
