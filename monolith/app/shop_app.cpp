#include "app/shop_app.hpp"

#include "modules/catalog/catalog.hpp"
#include "modules/customers/customers.hpp"
#include "modules/inventory/inventory.hpp"
#include "modules/orders/orders.hpp"
#include "modules/outbox/outbox.hpp"
#include "modules/orders/shipment_saga.hpp"
#include "modules/shipping/shipping.hpp"

#include "banyan/platform/clock.hpp"

#include "banyan/sync/saga_store.hpp"

#include <boost/json/object.hpp>

namespace shop {

namespace http = banyan::http;

void migrate_all(banyan::sqlite::connection& c) {
  banyan::sqlite::migrate(c, "outbox", outbox::migrations());
  banyan::sqlite::migrate(c, "catalog", catalog::migrations());
  banyan::sqlite::migrate(c, "customers", customers::migrations());
  banyan::sqlite::migrate(c, "inventory", inventory::migrations());
  banyan::sqlite::migrate(c, "orders", orders::migrations());
  banyan::sqlite::migrate(c, "shipping", shipping::migrations());
  banyan::sync::saga::create_tables(c);  // the order saga's state (docs/saga.md)
}

namespace {
// Migrates before the pool opens its connections, so they all see the final schema.
const std::string& migrated(const std::string& path) {
  banyan::sqlite::connection c(path);
  migrate_all(c);
  return path;
}
}  // namespace

app::app(const std::string& db_path, std::size_t connections, const shipping_options& shipping)
    : db_(migrated(db_path), connections),
      waiters_([this] { return outbox::feed().head(*db_.acquire()); }, feed_long_poll_slots) {
  catalog::register_routes(router_, db_);
  customers::register_routes(router_, db_);
  inventory::register_routes(router_, db_);
  orders::register_routes(router_, db_, shipping.booking_timeout_ms);
  shipping::register_routes(router_, db_);
  shipping::register_fence_routes(router_, db_, shipping.service);
  // The order sagas: where each stands, and the stuck ones (banyan saga list).
  router_.add("GET", "/internal/sagas", [this](http::request& req) {
    const auto q = orders::read_saga_query(req, banyan::unix_ms());
    if (!q.error.empty()) return http::error_response(400, "invalid_query", q.error);
    auto conn = db_.acquire();
    return http::json_response(200, orders::sagas_json(*conn, q.filter));
  });
  outbox::register_routes(router_, db_, waiters_);
  router_.add("GET", "/healthz", [this](http::request&) {
    auto conn = db_.acquire();
    conn->prepare("SELECT 1").step();
    return http::json_response(200, boost::json::object{{"status", "ok"}});
  });
  router_.add("GET", "/metrics", [this](http::request&) {
    http::response res;
    res.headers.set("Content-Type", "text/plain; version=0.0.4");
    res.body = metrics_.render();
    return res;
  });
}

}  // namespace shop
