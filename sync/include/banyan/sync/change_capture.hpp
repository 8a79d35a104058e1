#pragma once
// What banyan-sync asks of the database it attaches to, whatever the engine: check the map against
// the live schema, install and remove its capture, read the captured changes as the feed and the
// mapped tables as snapshots, and say whether capture is still intact. SQLite (triggers writing a
// changelog) is sqlite_capture.hpp; PostgreSQL (logical decoding into a changelog of banyan-sync's
// own) is pg_capture.hpp: a second implementation of this, not a second path through banyan-sync.
#include "banyan/platform/expected.hpp"
#include "banyan/sync/data_map.hpp"
#include "banyan/sync/feed.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::sync {

struct schema_problem {
  map_position at;  // where in the map file the problem is
  std::string message;
};

struct schema_report {
  std::vector<schema_problem> problems;  // the map cannot be honoured: nothing is installed
  std::vector<std::string> installs;     // what install() creates or replaces, in words
  std::vector<std::string> notes;        // worth knowing, not wrong (journal mode, resolved types)
};

// Changes made while the foreign-write fence is up: writes to mapped tables that the applier did not
// make, after this database's writes moved to another owner.
struct fence_state {
  bool up = false;
  std::int64_t since = 0;   // the feed head when it went up: captured changes after it are foreign
  std::string owner;        // who owns the writes now, as the proxy named it
  bool refuse = false;      // the database refuses them (foreign_writes: refuse)
  std::string at;           // RFC 3339
};

// How the capture is doing, for /internal/capture and the metrics: what an engine that reads a log
// (PostgreSQL's WAL through a slot) has to say. SQLite's triggers have nothing to report here.
struct capture_report {
  std::string engine;            // "sqlite", "postgresql"
  std::string slot;              // the replication slot, when there is one
  std::string confirmed;         // the position confirmed to the server (an LSN), when there is one
  std::optional<std::int64_t> retained_wal_bytes;  // WAL the server keeps for us
  std::optional<std::int64_t> safe_wal_bytes;      // before max_slot_wal_keep_size drops the slot
  bool connected = true;         // reading the log now
  std::string warning;           // worth a log line and an operator's look (WAL piling up)
};

class change_capture {
 public:
  virtual ~change_capture() = default;
  // An engine that reads a log runs its reader between these (after install()); SQLite's triggers
  // need nothing running.
  virtual void start() {}
  virtual void stop() {}
  virtual capture_report report() { return {"sqlite", {}, {}, {}, {}, true, {}}; }
  // Checks the map against the live schema; resolves every `automatic` field type from its column.
  virtual schema_report check(data_map& map) = 0;
  // Installs (or upgrades to this map) the capture, idempotently, in one transaction; events are
  // read with this map from then on.
  virtual void install(const data_map& map, bool refuse_foreign_writes) = 0;
  // Makes the database ready for the applier (its marker), whether or not capture is installed: a
  // follow-only banyan-sync installs no triggers.
  virtual void prepare_apply() = 0;
  // Removes everything install() created; says what.
  virtual std::vector<std::string> uninstall() = 0;
  // Empty while capture is intact; otherwise why not (a table recreated without its triggers):
  // changes may have been missed, and the feed must not go on as if none were.
  virtual std::string broken() = 0;
  // Up to `limit` events after `after`, and the head, read in one snapshot. Below what was pruned:
  // no events and `pruned_through` (the follower must copy again; the head is still there).
  virtual expected<feed_page, std::string> events(std::int64_t after, int limit) = 0;
  // The newest captured change's id: every change committed before the call is at or below it.
  virtual std::int64_t head() = 0;
  // The newest change in the changelog now, without waiting for changes still on their way into it
  // (the long polls' watcher asks every few milliseconds). The same as head() where capture is
  // synchronous with the app's commit (SQLite).
  virtual std::int64_t logged_head() { return head(); }
  // Up to `limit` rows of the aggregate's table in key order after the cursor (empty: from the start).
  virtual expected<snapshot_page, std::string> snapshot(const aggregate_map& a, std::string_view after, int limit) = 0;
  // Changelog rows every follower has passed (ids up to `upto`) are removed, at most `keep` rows
  // are kept; returns how many went.
  virtual std::int64_t prune(std::int64_t upto, std::int64_t keep) = 0;
  // The fence against foreign writes (a column of the database itself, so the triggers see it).
  virtual fence_state fence() = 0;
  virtual void set_fence(const fence_state& f) = 0;
  // Captured changes after the fence went up: the foreign writes (count, and the newest few).
  struct foreign_writes {
    std::int64_t count = 0;
    std::vector<feed_event> latest;  // newest first, at most 10
  };
  virtual foreign_writes foreign() = 0;
};

}  // namespace banyan::sync
