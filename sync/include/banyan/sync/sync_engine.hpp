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
#include "banyan/sync/apply_store.hpp"
#include "banyan/sync/feed.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace banyan::sync {

struct page_result {
  std::size_t applied = 0;   // rows or events applied
  std::size_t ignored = 0;
  std::size_t replayed = 0;  // events at or below the cursor: already applied, skipped
  bool stopped = false;      // a gap, or an event or row the sink could not apply
  std::string why;
  std::string last_ignored;  // why the last ignored event was ignored
};

class sync_engine {
 public:
  // Loads the record of `source` (the key the record is kept under: the source's URL, or
  // URL#aggregate where one source feeds several sinks) from the store it applies into.
  sync_engine(apply_store& store, std::string source);
  // A service's own SQLite database and its sink: creates the sync tables when missing.
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
  template <class Change>
  void commit_together(Change&& change);
  std::unique_ptr<apply_store> owned_;  // the SQLite store the second constructor makes
  apply_store& store_;
  std::string source_;
  sync_record state_;
};

}  // namespace banyan::sync
