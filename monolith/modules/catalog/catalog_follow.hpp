#pragma once
// The monolith's side of the reverse sync (docs/data-sync.md, "Moving writes"): while an extracted
// service owns the catalog's writes, its product events land in catalog_products exactly as the
// service has them (ids and timestamps included), so the monolith's orders keep pricing from
// current data and a rollback finds every write. They are not appended to the monolith's outbox:
// the service has them already, and publishing them again would echo them back.
#include "banyan/sync/entity_sink.hpp"

namespace shop::catalog {

class service_sink final : public banyan::sync::entity_sink {
 public:
  std::string_view aggregate() const override { return "product"; }
  // The monolith has the rows: it follows the service's feed without a snapshot.
  banyan::sync::apply_outcome apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row,
                                        banyan::sync::sync_phase phase) override;
  banyan::sync::apply_outcome apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                          banyan::sync::sync_phase phase) override;
};

}  // namespace shop::catalog
