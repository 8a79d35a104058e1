#pragma once
// banyan-sync's configuration file (docs/banyan-sync.md): where it listens, which database it
// attaches to, its state directory, the map, and its two jobs — publish this database's changes,
// follow another feed into it. Read with every problem at its FILE:LINE:COL; the map is checked
// against the live schema later, by the engine, with the positions kept here.
#include "banyan/platform/diagnostics.hpp"
#include "banyan/sync/data_map.hpp"

#include <chrono>
#include <string>

namespace banyan::sync {

struct sync_config {
  std::string file;  // the path it was read from, for diagnostics found later
  std::string listen = "127.0.0.1:0";
  std::string database;     // as written: sqlite:/path/app.db, postgresql://user@/db?host=/run/postgresql
  std::string sqlite_path;  // the path part of a sqlite: URL
  std::string postgres_url;  // a postgresql:// URL, as written
  // PostgreSQL: the replication slot, and the publication of the same name. Empty: banyan_sync_DATABASE
  // (slot names are the server's: the databases of one server need one each).
  std::string slot;
  std::string state_dir;
  data_map map;
  bool publish = false;
  std::string follow;  // a feed's URL, or empty
  // Changes to mapped tables that the applier did not make, once this database no longer owns its
  // writes: counted and logged ("count"), or refused by the database itself ("refuse").
  bool refuse_foreign_writes = false;
  int threads = 4;  // HTTP threads; each waiting follower holds one for up to `wait`
  int page_limit = 500;
  // How long a follower's request waits at the source for the next event once caught up (the
  // source holds it); 0: ask every 100 ms instead, as a source that cannot hold requests needs.
  std::chrono::milliseconds follow_wait{1000};
  // Changelog rows kept after every known follower has read them, and at most (then the oldest go
  // whether read or not, and a follower still behind them must copy again).
  std::int64_t retain_events = 1'000'000;
  std::chrono::milliseconds prune_interval{10'000};  // how often read changelog rows are removed
  map_position database_at, follow_at;
};

// Reads and validates the file. False (with diagnostics) when anything is wrong.
bool read_sync_config(const std::string& path, sync_config& out, diagnostics& diags);
bool parse_sync_config(const std::string& text, const std::string& name, sync_config& out, diagnostics& diags);

}  // namespace banyan::sync
