#pragma once
// legacy-shop assembled: the modules' tables migrated, their routes on one router, health and
// metrics endpoints. Transport-free: the server (or a test) hands requests to handle().
#include "banyan/platform/metrics.hpp"
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"

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

class app {
 public:
  app(const std::string& db_path, std::size_t connections, const shipping_options& shipping = {});
  banyan::http::response handle(banyan::http::request& req) const { return router_.dispatch(req); }
  banyan::metrics::registry& metrics() noexcept { return metrics_; }
  banyan::sqlite::pool& db() noexcept { return db_; }

 private:
  banyan::sqlite::pool db_;
  banyan::metrics::registry metrics_;
  banyan::http::router router_;
};

}  // namespace shop
