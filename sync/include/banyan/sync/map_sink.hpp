#pragma once
// The applier's side of banyan-sync on SQLite: an entity_sink that writes one aggregate's feed into
// its mapped table — upsert by key for a created or updated event (and a snapshot row), delete by
// key for a deleted one — with the payload converted column by column by the map's types. It marks
// its own writes (banyan_sync_applying, inside the transaction) so that the capture triggers leave
// them out of this database's feed: a change applied here is never published back.
//
// Ids stay the source's: an applied row keeps its key, and SQLite's rowid (and an AUTOINCREMENT
// table's counter) moves past every id inserted, so the app's next insert cannot take one.
#include "banyan/sync/data_map.hpp"
#include "banyan/sync/entity_sink.hpp"

namespace banyan::sync {

class map_sink final : public entity_sink {
 public:
  explicit map_sink(aggregate_map a) : a_(std::move(a)) {}
  std::string_view aggregate() const override { return a_.name; }
  apply_outcome apply_row(sqlite::connection& c, const snapshot_row& row, sync_phase phase) override;
  apply_outcome apply_event(sqlite::connection& c, const feed_event& e, sync_phase phase) override;

 private:
  apply_outcome upsert(sqlite::connection& c, const boost::json::object& payload);
  apply_outcome remove(sqlite::connection& c, const std::string& key);
  aggregate_map a_;
};

}  // namespace banyan::sync
