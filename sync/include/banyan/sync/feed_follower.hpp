#pragma once
// The sync's I/O: a thread that backfills an entity from a source and then follows its feed,
// driving sync_engine with pages fetched over HTTP. Backs off while the source is unreachable
// (the state stays, `source_reachable` says so); stops with a reason at a feed gap or an event it
// cannot apply, never skipping one. Status and metrics are updated after every page.
#include "banyan/platform/metrics.hpp"
#include "banyan/sync/entity_sink.hpp"
#include "banyan/sync/sync_engine.hpp"
#include "banyan/sync/sync_status.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace banyan::sync {

struct follower_options {
  std::string source_url;  // the monolith (or service) whose feed is followed
  int page_limit = 500;    // events or rows per request
  std::chrono::milliseconds poll_interval{100};  // between polls once caught up
  std::chrono::milliseconds backoff_min{100};    // first wait after a failed request, doubling
  std::chrono::milliseconds backoff_max{5'000};
  std::chrono::milliseconds request_timeout{10'000};
  // false: follow the feed from its first event without copying a snapshot first (the follower
  // already has the rows; see sync_engine::begin_following).
  bool backfill = true;
  // Once caught up, ask the source to hold the request until an event comes (…&wait=MS) instead of
  // sleeping poll_interval between polls: the poll dominated sync lag and the cut-over's hold
  // (issue 13's measurement: p99 lag 152 ms at a 100 ms poll). A source that answers at once
  // anyway (it does not know `wait`) is polled as before. 0: never ask.
  std::chrono::milliseconds long_poll{1000};
  // The key of the sync record; empty: the source URL. Several sinks following one source (one per
  // aggregate) need one each.
  std::string cursor_key;
  // Who this follower is, to the source (its User-Agent): a publisher keeps each follower's
  // position apart by it when it prunes. Empty: the cursor key. Two followers of one source into
  // two databases need two names.
  std::string name;
  state_storage storage;
  sqlite::open_options open;  // how the follower's own connection opens the database
};

class feed_follower {
 public:
  // Opens its own connection to the database at `db_path` (the service's, so changes and cursor
  // share its transactions). Metrics, when given, get the banyan_sync_* series.
  feed_follower(std::string db_path, entity_sink& sink, follower_options options,
                metrics::registry* metrics = nullptr);
  // Any store (banyan-sync's PostgreSQL applier): `open_store` is called once, on start(), and
  // what it returns is used by the follower's thread alone. `storage` and `open` are not used.
  using store_factory = std::function<std::unique_ptr<apply_store>()>;
  feed_follower(store_factory open_store, std::string aggregate, follower_options options,
                metrics::registry* metrics = nullptr);
  ~feed_follower();
  feed_follower(const feed_follower&) = delete;
  feed_follower& operator=(const feed_follower&) = delete;

  void start();
  void stop();
  sync_status status() const;
  // Backfill complete, following, and no further behind than the bounds.
  bool ready(std::int64_t max_lag_events, double max_lag_seconds) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::sync
