#pragma once
// catalog-service assembled: its tables migrated, the catalog API, the sync from the monolith's
// feed, and /healthz, /readyz, /metrics, /internal/sync. Transport-free: main.cpp (or a test)
// hands requests to handle().
#include "catalog_sink.hpp"

#include "banyan/platform/metrics.hpp"
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_follower.hpp"
#include "banyan/sync/feed_waiters.hpp"

#include <memory>
#include <string>

namespace catalog {

struct service_options {
  std::string db_path;
  std::size_t connections = 3;
  std::string source_url;  // the monolith whose feed is followed; empty: no sync (tests)
  // Followers of this service's own feed that may wait at once for its next event (long polls);
  // main.cpp gives the server as many threads on top of those that serve requests.
  int long_poll_slots = 4;
  banyan::sync::follower_options follow;
  // /readyz answers 200 only once the backfill is complete and the sync is at most this far behind.
  std::int64_t ready_max_lag_events = 100;
  double ready_max_lag_seconds = 5;
};

class service_app {
 public:
  explicit service_app(service_options options);
  ~service_app();
  void start_sync();  // begins the backfill or resumes where it stopped
  banyan::http::response handle(banyan::http::request& req) const { return router_.dispatch(req); }
  banyan::metrics::registry& metrics() noexcept { return metrics_; }
  banyan::sqlite::pool& db() noexcept { return db_; }
  // Answers every waiting follower now, and any that asks later at once (the server drains).
  void stop_waiting() { waiters_.stop(); }

 private:
  service_options options_;
  banyan::sqlite::pool db_;
  banyan::sync::feed_waiters waiters_;
  banyan::metrics::registry metrics_;
  banyan::http::router router_;
  catalog_sink sink_;
  std::unique_ptr<banyan::sync::feed_follower> follower_;
};

}  // namespace catalog
