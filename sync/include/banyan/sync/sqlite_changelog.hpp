#pragma once
// The changelog as the feed reads it: banyan_sync_changelog in a SQLite database, whose
// AUTOINCREMENT id is the event id (consecutive in commit order: one writer at a time) and each
// row a table's image as JSON. On SQLite the app's own database holds it, written by the capture
// triggers; on PostgreSQL a database in banyan-sync's state directory holds it, written by the
// decoder. Either way the feed, its head, pruning and the foreign writes are read here.
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/change_capture.hpp"

namespace banyan::sync {

class sqlite_changelog {
 public:
  // `pool` opens the database that holds the changelog; `map` reads its images into events.
  explicit sqlite_changelog(sqlite::pool& pool) : pool_(pool) {}
  // Creates the table when missing (in the caller's transaction).
  static void create(sqlite::connection& c);

  void use_map(const data_map& map) { map_ = map; }
  const data_map& map() const noexcept { return map_; }

  expected<feed_page, std::string> events(std::int64_t after, int limit);
  std::int64_t head();
  std::int64_t prune(std::int64_t upto, std::int64_t keep);
  // The changes logged after `since` (the fence's position): how many, and the newest ten.
  change_capture::foreign_writes after(std::int64_t since);
  feed_event event_of(std::int64_t id, const std::string& table, const std::string& op, const std::string& row,
                      const std::string& at) const;

 private:
  sqlite::pool& pool_;
  data_map map_;
};

}  // namespace banyan::sync
