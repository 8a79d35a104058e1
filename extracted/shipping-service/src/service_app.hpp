#pragma once
// shipping-service assembled: its tables, the shipments API, two followers of the monolith's feed
// (the shipments copied, the orders asking for bookings), its own feed, the write cut-over's fence,
// and /healthz, /readyz, /metrics, /internal/sync. Transport-free: main.cpp (or a test) hands
// requests to handle().
#include "shipping_sinks.hpp"

#include "banyan/platform/metrics.hpp"
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_follower.hpp"
#include "banyan/sync/feed_waiters.hpp"

#include <memory>
#include <string>

namespace shipping {

struct service_options {
  std::string db_path;
  std::size_t connections = 3;
  std::string source_url;  // the monolith whose feed is followed; empty: no sync (tests)
  // Followers of this service's own feed that may wait at once for its next event (long polls);
  // main.cpp gives the server as many threads on top of those that serve requests.
  int long_poll_slots = 4;
  banyan::sync::follower_options follow;
  booking_faults faults;
  std::int64_t ready_max_lag_events = 100;
};

class service_app {
 public:
  explicit service_app(service_options options);
  ~service_app();
  void start_sync();
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
  shipment_copy copy_sink_;
  order_requests order_sink_;
  std::unique_ptr<banyan::sync::feed_follower> shipments_, orders_;
};

}  // namespace shipping
