#pragma once
// legacy-shop assembled: the modules' tables migrated, their routes on one router, health and
// metrics endpoints. Transport-free: the server (or a test) hands requests to handle().
#include "banyan/platform/metrics.hpp"
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_waiters.hpp"

#include <cstdint>
#include <string>

namespace shop {

// Each module migrates only its own tables, under its own name.
void migrate_all(banyan::sqlite::connection& c);

// How legacy-shop takes part in the shipping extraction (docs/saga.md).
struct shipping_options {
  std::string service = "shipping";    // the proxy's name for the shipping service: whose fence it keeps
  std::int64_t booking_timeout_ms = 30'000;  // an order waits this long for the service's booking
};

// Followers of legacy-shop's feed that may wait at once for its next event (long polls): the
// server gets as many threads on top of --threads (catalog-service, shipping-service's two, one spare).
inline constexpr int feed_long_poll_slots = 4;

class app {
 public:
  app(const std::string& db_path, std::size_t connections, const shipping_options& shipping = {});
  banyan::http::response handle(banyan::http::request& req) const { return router_.dispatch(req); }
  banyan::metrics::registry& metrics() noexcept { return metrics_; }
  banyan::sqlite::pool& db() noexcept { return db_; }
  // Answers every waiting follower now, and any that asks later at once (the server drains).
  void stop_waiting() { waiters_.stop(); }

 private:
  banyan::sqlite::pool db_;
  banyan::sync::feed_waiters waiters_;
  banyan::metrics::registry metrics_;
  banyan::http::router router_;
};

}  // namespace shop
