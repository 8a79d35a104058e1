#pragma once
// change_capture on PostgreSQL, by logical decoding: a publication limited to the mapped tables, a
// replication slot decoded with pgoutput over libpq's replication protocol, and every decoded
// change written to banyan-sync's own changelog (a SQLite database in the state directory) with
// consecutive ids in commit order — the order the slot delivers transactions in. Never an id-ordered
// outbox on PostgreSQL: a sequence hands out ids in the order transactions start, not commit.
//
// What Debezium and DMS learned is built in (docs/banyan-sync.md, "PostgreSQL"):
//  - the position is confirmed to the server only once the changelog holding it is durable (and at
//    least every 10 s, also when nothing passes the publication, so the slot does not hold WAL);
//  - a transaction that arrives again after a crash (decoded, logged, not yet confirmed) is
//    recognised by its commit LSN, kept with the changelog, and not logged twice;
//  - tables get REPLICA IDENTITY FULL: deletes and updates carry the whole old row, so unchanged
//    TOAST values and changed keys are published whole;
//  - the applier's transactions carry a replication origin (pg_apply_store.hpp) and are dropped
//    here: nothing applied is published back;
//  - a column the map names that leaves the stream, a TRUNCATE, a slot dropped or invalidated:
//    capture stops and says why and what to do, rather than going on with changes missing.
//
// head() covers every change committed before it was called: it reads the server's WAL insert
// position and waits until the decoder has logged everything before it.
#include "banyan/platform/postgres.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/change_capture.hpp"
#include "banyan/sync/sqlite_changelog.hpp"

#include <memory>

namespace banyan::sync {

struct pg_capture_options {
  std::string conninfo;   // the database's URL (postgresql://user@/db?host=/run/postgresql)
  std::string state_dir;  // holds changelog.db
  // The replication slot, and the publication of the same name. Empty: banyan_sync_DATABASE.
  std::string slot;
  std::size_t connections = 4;       // for the HTTP threads' reads
  map_position database_at;          // where `database:` is in the file, for server-wide problems
  // Warn once the slot holds more WAL than this (when the server sets no max_slot_wal_keep_size;
  // with one, at half of it).
  std::int64_t wal_warn_bytes = 1LL << 30;
};

// The prefix of the replication origins banyan-sync's appliers use: transactions made under one
// are not captured.
inline constexpr std::string_view apply_origin_prefix = "banyan_sync_apply";

class pg_capture final : public change_capture {
 public:
  explicit pg_capture(pg_capture_options options);
  ~pg_capture() override;

  schema_report check(data_map& map) override;
  void install(const data_map& map, bool refuse_foreign_writes) override;
  void prepare_apply() override {}
  std::vector<std::string> uninstall() override;
  std::string broken() override;
  expected<feed_page, std::string> events(std::int64_t after, int limit) override;
  std::int64_t head() override;
  std::int64_t logged_head() override;
  expected<snapshot_page, std::string> snapshot(const aggregate_map& a, std::string_view after, int limit) override;
  std::int64_t prune(std::int64_t upto, std::int64_t keep) override;
  fence_state fence() override;
  void set_fence(const fence_state& f) override;
  foreign_writes foreign() override;
  void start() override;
  void stop() override;
  capture_report report() override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::sync
