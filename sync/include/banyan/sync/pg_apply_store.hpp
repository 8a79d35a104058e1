#pragma once
// banyan-sync's applier on PostgreSQL: one aggregate's feed into its mapped table — upsert by key
// (INSERT … ON CONFLICT) for a created or updated event and a snapshot row, delete by key for a
// deleted one — with the cursor in banyan_sync_cursor in the same transaction.
//
// Its session runs under a replication origin (banyan_sync_apply/DATABASE/AGGREGATE): the capture
// on this database drops those transactions (no echo, also with both directions running), and the
// refusal trigger lets them through. Ids stay the source's: after a page, the key's sequence (serial
// or identity) is moved past every id applied, so the app's next insert cannot take one.
#include "banyan/platform/postgres.hpp"
#include "banyan/sync/apply_store.hpp"
#include "banyan/sync/data_map.hpp"

#include <optional>
#include <set>

namespace banyan::sync {

class pg_apply_store final : public apply_store {
 public:
  // Connects, creates banyan_sync_cursor when missing and sets up the session's origin.
  pg_apply_store(const std::string& conninfo, aggregate_map a);
  std::string_view aggregate() const override { return a_.name; }
  sync_record load(const std::string& source) override;
  void begin() override;
  void commit() override;
  void rollback() override;
  apply_outcome apply_row(const snapshot_row& row, sync_phase phase) override;
  apply_outcome apply_event(const feed_event& e, sync_phase phase) override;
  void save(const std::string& source, const sync_record& r) override;

 private:
  // One item's statement under a savepoint of its own: applied, or failed with nothing left behind.
  apply_outcome run_item(const std::string& statement, std::vector<pg::param> params);
  apply_outcome upsert(const boost::json::object& payload);
  apply_outcome remove(const std::string& key);
  aggregate_map a_;
  pg::connection c_;
  std::string sequence_;  // the single integer key's sequence, if it has one
  std::optional<std::int64_t> max_id_;  // the highest key applied in the open transaction
  bool savepoint_open_ = false;          // an item's savepoint is still there (released by the next, or COMMIT)
  std::set<std::string> prepared_;       // upserts of payloads that lack some fields, by their columns
};

}  // namespace banyan::sync
