#pragma once
// Where a sync engine applies what it follows (sync_engine.hpp): one database, its transactions,
// and the engine's record kept in them, so that a page and the cursor after it commit together.
// A service's own SQLite database with its entity_sink is sqlite_store (below); banyan-sync's
// PostgreSQL applier is pg_apply_store (pg_apply_store.hpp). The engine's rules — order, gaps,
// phases, replays — are the engine's, whatever the store.
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/entity_sink.hpp"
#include "banyan/sync/feed.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banyan::sync {

// What is stored per source, as it was after the last committed page.
struct sync_record {
  bool exists = false;            // false: nothing copied yet, the backfill has not begun
  sync_phase phase = sync_phase::copying;
  std::int64_t applied = 0;       // the last feed event applied (while copying: the position taken)
  std::int64_t backfill_position = 0;  // the feed head taken before the copy began
  std::string copy_cursor;        // the snapshot cursor after the last copied page
  std::int64_t rows_copied = 0;
  std::optional<std::int64_t> rows_total;
  std::int64_t catchup_target = 0;  // the feed head when the copy ended: caught up once applied reaches it
  std::int64_t events_applied = 0;
  std::int64_t events_ignored = 0;  // other aggregates' events, and events the sink ignored
  std::string backfill_started_at, copied_at, caught_up_at;  // RFC 3339
};

// Where the engine keeps its records in the database it writes: a service of ours has its own
// versioned schema ("sync_state" under schema owner "sync"); banyan-sync, a guest in an app's
// database, keeps one table of its own prefix and touches no table the app might have
// (schema_migrations is Rails' own).
struct state_storage {
  std::string table = "sync_state";
  bool versioned = true;  // false: CREATE TABLE IF NOT EXISTS, no schema_migrations row
};

class apply_store {
 public:
  virtual ~apply_store() = default;
  // The aggregate applied here: other aggregates' events are counted as ignored.
  virtual std::string_view aggregate() const = 0;
  // The record of `source`, or one that does not exist yet.
  virtual sync_record load(const std::string& source) = 0;
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  // One snapshot row or event inside the open transaction, all or nothing: a failed one (or one
  // that throws) leaves nothing behind, and the transaction goes on.
  virtual apply_outcome apply_row(const snapshot_row& row, sync_phase phase) = 0;
  virtual apply_outcome apply_event(const feed_event& e, sync_phase phase) = 0;
  // A row of a snapshot page, inside a transaction the caller rolls back whole when any row fails
  // (the copy keeps no part of a failing page), so a row needs no isolation of its own: the SQLite
  // store drops its per-row savepoint here (two statements of the six a catalog row cost). A
  // failure is still returned, never thrown.
  virtual apply_outcome apply_row_in_page(const snapshot_row& row, sync_phase phase) { return apply_row(row, phase); }
  // The record, last in the transaction it describes.
  virtual void save(const std::string& source, const sync_record& r) = 0;
};

// A SQLite database and the sink that knows its tables: each item in a savepoint.
class sqlite_store final : public apply_store {
 public:
  // Creates the record table when missing.
  sqlite_store(sqlite::connection& c, entity_sink& sink, state_storage storage = {});
  std::string_view aggregate() const override { return sink_.aggregate(); }
  sync_record load(const std::string& source) override;
  void begin() override;
  void commit() override;
  void rollback() override;
  apply_outcome apply_row(const snapshot_row& row, sync_phase phase) override;
  apply_outcome apply_event(const feed_event& e, sync_phase phase) override;
  apply_outcome apply_row_in_page(const snapshot_row& row, sync_phase phase) override;
  void save(const std::string& source, const sync_record& r) override;

 private:
  sqlite::connection& db_;
  entity_sink& sink_;
  std::string table_;
};

// The phase's name as stored ("copying", "catching_up", "following") and back.
sync_phase parse_phase(std::string_view text) noexcept;

}  // namespace banyan::sync
