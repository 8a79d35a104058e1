#pragma once
// change_capture on SQLite: AFTER INSERT/UPDATE/DELETE triggers on each mapped table write the
// row's image (json_object of its mapped columns) into banyan_sync_changelog, whose AUTOINCREMENT
// id is the feed's event id. SQLite has one writer at a time and the trigger's insert is part of the
// app's own transaction, so ids are consecutive in commit order and a rolled-back transaction
// leaves nothing — what a feed needs, with no code in the app.
//
// Changes banyan-sync's own applier makes are not captured (the triggers' WHEN clause sees the
// applier's marker row, which exists only inside its transaction): nothing echoes back.
//
// Everything it creates is named banyan_sync_*; uninstall() drops exactly that.
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/change_capture.hpp"
#include "banyan/sync/sqlite_changelog.hpp"

#include <memory>
#include <mutex>

namespace banyan::sync {

// The names it installs, shared with the applier (map_sink.hpp).
inline constexpr std::string_view changelog_table = "banyan_sync_changelog";
inline constexpr std::string_view applying_table = "banyan_sync_applying";
inline constexpr std::string_view fence_table = "banyan_sync_fence";

// The app's database is opened as it is: its journal mode is the app's choice (WAL is the better
// one for both), and every connection waits for the app's locks rather than failing.
sqlite::open_options app_database_options();

class sqlite_capture final : public change_capture {
 public:
  // Opens `connections` connections to the app's database at `path` (the HTTP threads share them).
  sqlite_capture(std::string path, std::size_t connections);

  schema_report check(data_map& map) override;
  void install(const data_map& map, bool refuse_foreign_writes) override;
  void prepare_apply() override;
  std::vector<std::string> uninstall() override;
  std::string broken() override;
  expected<feed_page, std::string> events(std::int64_t after, int limit) override;
  std::int64_t head() override;
  expected<snapshot_page, std::string> snapshot(const aggregate_map& a, std::string_view after, int limit) override;
  std::int64_t prune(std::int64_t upto, std::int64_t keep) override;
  fence_state fence() override;
  void set_fence(const fence_state& f) override;
  foreign_writes foreign() override;

  // Reads events with `map` without installing anything (capture installed earlier, by another run).
  void use_map(const data_map& map);

 private:
  std::string path_;
  sqlite::pool pool_;
  sqlite_changelog changelog_{pool_};
  data_map map_;
  std::mutex health_mutex_;  // guards the two below
  std::int64_t checked_schema_version_ = -1;
  std::string broken_;
};

}  // namespace banyan::sync
