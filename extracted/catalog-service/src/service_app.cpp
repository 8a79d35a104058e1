#include "service_app.hpp"

#include "catalog_api.hpp"
#include "catalog_store.hpp"

namespace catalog {

namespace http = banyan::http;
namespace json = boost::json;

namespace {
// Migrates before the pool opens its connections, so they all see the final schema.
const std::string& migrated(const std::string& path) {
  banyan::sqlite::connection c(path);
  banyan::sqlite::migrate(c, "catalog-service", migrations());
  return path;
}
}  // namespace

service_app::service_app(service_options options)
    : options_(std::move(options)), db_(migrated(options_.db_path), options_.connections),
      waiters_([this] { return outbox().head(*db_.acquire()); }, options_.long_poll_slots) {
  if (!options_.source_url.empty()) {
    options_.follow.source_url = options_.source_url;
    follower_ = std::make_unique<banyan::sync::feed_follower>(options_.db_path, sink_, options_.follow, &metrics_);
  }
  register_api(router_, db_);
  router_.add("GET", "/healthz", [this](http::request&) {
    auto conn = db_.acquire();
    conn->prepare("SELECT 1").step();
    return http::json_response(200, json::object{{"status", "ok"}});
  });
  router_.add("GET", "/readyz", [this](http::request&) {
    if (!follower_) return http::json_response(200, json::object{{"status", "ready"}, {"sync", "none"}});
    const auto s = follower_->status();
    const bool ready = s.state == "following" && s.source_reachable && s.lag_events <= options_.ready_max_lag_events &&
                       s.lag_seconds <= options_.ready_max_lag_seconds;
    if (ready) return http::json_response(200, json::object{{"status", "ready"}, {"lag_events", s.lag_events}});
    std::string why;
    if (s.state == "stopped") why = "the sync stopped: " + s.why;
    else if (s.state == "backfilling") why = "the backfill is not complete (" + s.backfill.phase + ")";
    else if (!s.source_reachable) why = "the source does not answer: " + s.why;
    else why = "the sync is " + std::to_string(s.lag_events) + " events / " + std::to_string(s.lag_seconds) + " s behind";
    return http::json_response(503, json::object{{"error", json::object{{"code", "not_ready"}, {"message", why}}},
                                                 {"sync", to_json(s)}});
  });
  // The service's own feed, in the protocol legacy-shop publishes (docs/data-sync.md): what a
  // monolith follows back once the service owns the catalog's writes.
  router_.add("GET", "/internal/events", [this](http::request& req) {
    return outbox().serve(db_, req, &waiters_);
  });
  router_.add("GET", "/internal/sync", [this](http::request&) {
    if (!follower_) return http::error_response(404, "no_sync", "this service follows no source (--source)");
    return http::json_response(200, to_json(follower_->status()));
  });
  router_.add("GET", "/metrics", [this](http::request&) {
    if (follower_) (void)follower_->status();  // refreshes the lag gauge
    http::response res;
    res.headers.set("Content-Type", "text/plain; version=0.0.4");
    res.body = metrics_.render();
    return res;
  });
}

service_app::~service_app() {
  if (follower_) follower_->stop();
}

void service_app::start_sync() {
  if (follower_) follower_->start();
}

}  // namespace catalog
