#include "service_app.hpp"

#include "shipping_api.hpp"
#include "shipping_store.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"

#include <algorithm>

namespace shipping {

namespace http = banyan::http;
namespace json = boost::json;

namespace {
const std::string& migrated(const std::string& path) {
  banyan::sqlite::connection c(path);
  banyan::sqlite::migrate(c, "shipping-service", migrations());
  return path;
}

json::object fence_json(const fence& f) {
  return {{"up", f.up}, {"since", f.since}, {"owner", f.up ? f.owner : std::string()}, {"at", f.at}};
}
}  // namespace

service_app::service_app(service_options options)
    : options_(std::move(options)), db_(migrated(options_.db_path), options_.connections),
      waiters_([this] { return outbox().head(*db_.acquire()); }, options_.long_poll_slots), order_sink_(options_.faults) {
  if (!options_.source_url.empty()) {
    // Two followers of one feed, each with its own cursor (kept under URL#aggregate): the
    // shipments copied from the start, the orders from now on — orders placed before were booked
    // by the monolith itself.
    auto copy = options_.follow;
    copy.source_url = options_.source_url;
    copy.cursor_key = copy.name = options_.source_url + "#shipment";
    shipments_ = std::make_unique<banyan::sync::feed_follower>(options_.db_path, copy_sink_, copy, &metrics_);
    auto orders = options_.follow;
    orders.source_url = options_.source_url;
    orders.backfill = false;
    // A page is one transaction: its bookings reach the feed together when it commits. With pages of
    // 500, slow bookings (a carrier's API) would hold every answer of a page until the last one;
    // pages of 20 keep an answer close to its booking.
    orders.page_limit = std::min(orders.page_limit, 20);
    orders.cursor_key = orders.name = options_.source_url + "#order";
    orders_ = std::make_unique<banyan::sync::feed_follower>(options_.db_path, order_sink_, orders, &metrics_);
  }
  register_api(router_, db_);
  router_.add("GET", "/healthz", [this](http::request&) {
    auto conn = db_.acquire();
    conn->prepare("SELECT 1").step();
    return http::json_response(200, json::object{{"status", "ok"}});
  });
  router_.add("GET", "/readyz", [this](http::request&) {
    if (!shipments_) return http::json_response(200, json::object{{"status", "ready"}, {"sync", "none"}});
    for (const auto* f : {shipments_.get(), orders_.get()}) {
      const auto s = f->status();
      if (s.state != "following" || !s.source_reachable || s.lag_events > options_.ready_max_lag_events)
        return http::json_response(
            503, json::object{{"error", json::object{{"code", "not_ready"},
                                                     {"message", "the sync of " + s.source + " is " + s.state +
                                                                     (s.why.empty() ? "" : ": " + s.why)}}},
                              {"sync", to_json(s)}});
    }
    return http::json_response(200, json::object{{"status", "ready"}});
  });
  router_.add("GET", "/internal/events", [this](http::request& req) {
    return outbox().serve(db_, req, &waiters_);
  });
  // The barrier waits for the shipments' copy: the data whose writes move. (The orders' follower
  // is in /readyz and /metrics.)
  router_.add("GET", "/internal/sync", [this](http::request& req) {
    if (!shipments_) return http::error_response(404, "no_sync", "this service follows no source (--source)");
    if (const auto a = req.query_param("aggregate"); a && *a == "order")
      return http::json_response(200, to_json(orders_->status()));
    return http::json_response(200, to_json(shipments_->status()));
  });
  router_.add("GET", "/internal/fence", [this](http::request&) {
    auto conn = db_.acquire();
    return http::json_response(200, fence_json(current_fence(*conn)));
  });
  // The proxy's write cut-over: the fence goes up when shipping's writes leave for the monolith,
  // down when they come here (then this service cancels the shipments of cancelled orders).
  router_.add("PUT", "/internal/fence", [this](http::request& req) {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    const auto* since = body->if_contains("since");
    const auto* owner = body->if_contains("owner");
    if (!since || !since->is_int64() || since->as_int64() < 0 || !owner || !owner->is_string() || owner->as_string().empty())
      return http::error_response(422, "invalid_fence", "a fence names its owner and the feed position it starts at");
    const fence f{true, std::string(owner->as_string()), since->as_int64(), banyan::now_rfc3339()};
    auto conn = db_.acquire();
    banyan::sqlite::transaction tx(*conn);
    set_fence(*conn, f);
    tx.commit();
    banyan::log::info("fence up: shipping's writes belong to another owner", {{"owner", f.owner}});
    return http::json_response(200, fence_json(f));
  });
  router_.add("DELETE", "/internal/fence", [this](http::request&) {
    auto conn = db_.acquire();
    banyan::sqlite::transaction tx(*conn);
    const auto was = current_fence(*conn);
    set_fence(*conn, {false, "", 0, banyan::now_rfc3339()});
    tx.commit();
    banyan::log::info("fence down: shipping's writes are this service's");
    return http::json_response(200, json::object{{"up", false}, {"was", fence_json(was)}});
  });
  router_.add("GET", "/metrics", [this](http::request&) {
    if (shipments_) (void)shipments_->status();
    if (orders_) (void)orders_->status();
    http::response res;
    res.headers.set("Content-Type", "text/plain; version=0.0.4");
    res.body = metrics_.render();
    return res;
  });
}

service_app::~service_app() {
  if (orders_) orders_->stop();
  if (shipments_) shipments_->stop();
}

void service_app::start_sync() {
  if (shipments_) shipments_->start();
  if (orders_) orders_->start();
}

}  // namespace shipping
