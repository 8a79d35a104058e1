#pragma once
// The sync of one entity from one source into a service's own SQLite database: a consistent
// backfill (feed position first, then the snapshot page by page, then the feed from that
// position), then change sync in feed order. No sockets: the follower (feed_follower.hpp) fetches
// pages and hands them here; tests hand pages directly.
//
// Exactly-once effect: every page is applied in one transaction that also records the new cursor
// (the last event id applied, or the snapshot cursor while copying), in the table `sync_state` of
// the same database. A crash before the commit loses the whole page and its cursor together; the
// page is fetched again and applied once.
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/entity_sink.hpp"
#include "banyan/sync/feed.hpp"

#include <cstdint>
#include <optional>
#include <string>

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

struct page_result {
  std::size_t applied = 0;   // rows or events applied
  std::size_t ignored = 0;
  std::size_t replayed = 0;  // events at or below the cursor: already applied, skipped
  bool stopped = false;      // a gap, or an event or row the sink could not apply
  std::string why;
  std::string last_ignored;  // why the last ignored event was ignored
};

// Where the engine keeps its records in the database it writes: a service of ours has its own
// versioned schema ("sync_state" under schema owner "sync"); banyan-sync, a guest in an app's
// database, keeps one table of its own prefix and touches no table the app might have
// (schema_migrations is Rails' own).
struct state_storage {
  std::string table = "sync_state";
  bool versioned = true;  // false: CREATE TABLE IF NOT EXISTS, no schema_migrations row
};

class sync_engine {
 public:
  // Creates the sync tables when missing and loads the record of `source` (the key the record is
  // kept under: the source's URL, or URL#aggregate where one source feeds several sinks).
  sync_engine(sqlite::connection& c, entity_sink& sink, std::string source, const state_storage& storage = {});

  const sync_record& state() const noexcept { return state_; }
  const std::string& source() const noexcept { return source_; }

  // Starts the backfill from the feed position `head` (taken before anything is copied).
  void begin_backfill(std::int64_t head);
  // Starts following the feed after `position` with no copy: for a side that already has the rows
  // (a monolith following back the service that took over its writes, whose feed holds only what
  // the service itself wrote).
  void begin_following(std::int64_t position);
  // One snapshot page: its rows and the cursor after it commit together. On the last page the
  // phase moves to catching_up with `head_now` (the feed head read after the copy) as the target.
  page_result copy_page(const snapshot_page& page, std::int64_t head_now);
  // One feed page, in order. Applies the events that continue the sequence; stops at a gap or at an
  // event the sink fails (the events before it are committed, the cursor stays before it).
  page_result apply_page(const feed_page& page);

 private:
  void save(sqlite::connection& c);
  sqlite::connection& db_;
  entity_sink& sink_;
  std::string table_;
  std::string source_;
  sync_record state_;
};

}  // namespace banyan::sync
