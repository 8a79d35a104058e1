// legacy-shop: the modular monolith Banyan's demo and tests migrate away from.
#include "app/shop_app.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/feed_follower.hpp"
#include "banyan/platform/clock.hpp"
#include "banyan/platform/units.hpp"
#include "modules/catalog/catalog_follow.hpp"
#include "modules/orders/shipment_saga.hpp"
#include "seed/seed.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App cli{"legacy-shop: a modular monolith (catalog, customers, inventory, orders) over one SQLite file"};
  cli.set_version_flag("--version", std::string("legacy-shop ") + BANYAN_VERSION);
  std::string listen = "127.0.0.1:8081";
  std::string db_path = "legacy-shop.db";
  bool seed = false;
  int threads = 2;
  std::string log_level = "info";
  std::string follow;
  cli.add_option("--listen", listen, "ADDR:PORT to listen on; port 0 picks a free one")->capture_default_str();
  cli.add_option("--db", db_path, "SQLite database file (created when missing)")->capture_default_str();
  cli.add_flag("--seed", seed, "fill an empty database with the reproducible demo data set");
  cli.add_option("--threads", threads, "worker threads")->check(CLI::Range(1, 64))->capture_default_str();
  cli.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  cli.add_option("--follow", follow,
                 "URL of the service that owns the catalog's writes: follow its feed back into the catalog "
                 "(reverse sync; status at GET /internal/sync)");
  std::string follow_shipping;
  cli.add_option("--follow-shipping", follow_shipping,
                 "URL of the shipping service: follow its feed — its shipments back into shipping, its answers "
                 "to the order saga (docs/saga.md; status at GET /internal/sync?source=URL)");
  shop::shipping_options shipping;
  cli.add_option("--shipping-service", shipping.service,
                 "the proxy's name for the shipping service: whose write cut-over fence this monolith keeps")
      ->capture_default_str();
  std::string booking_timeout = "30s";
  cli.add_option("--booking-timeout", booking_timeout,
                 "how long an order waits for the shipping service's booking before it is cancelled (e.g. 30s, 500ms)")
      ->capture_default_str();
  cli.footer("Example:\n  legacy-shop --listen 127.0.0.1:0 --db /tmp/shop.db --seed");
  CLI11_PARSE(cli, argc, argv);

  banyan::log::level level{};
  banyan::log::parse_level(log_level, level);
  banyan::log::set_min_level(level);

  banyan::http::server_options options;
  if (!banyan::http::parse_listen_address(listen, options.address, options.port)) {
    std::cerr << "legacy-shop: --listen: expected ADDR:PORT, got '" << listen << "'\n";
    return 2;
  }
  for (const auto& [flag, value] : {std::pair{"--follow", &follow}, std::pair{"--follow-shipping", &follow_shipping}}) {
    if (value->empty()) continue;
    banyan::http::http_url url;
    std::string why;
    if (!banyan::http::parse_http_url(*value, url, why)) {
      std::cerr << "legacy-shop: " << flag << ": " << why << '\n';
      return 2;
    }
  }
  {
    std::chrono::milliseconds timeout{};
    if (!banyan::parse_duration(booking_timeout, timeout) || timeout.count() <= 0) {
      std::cerr << "legacy-shop: --booking-timeout: expected a duration such as 30s or 500ms, got '" << booking_timeout
                << "'\n";
      return 2;
    }
    shipping.booking_timeout_ms = timeout.count();
  }
  options.threads = threads + shop::feed_long_poll_slots;  // feed followers waiting hold a thread each
  options.server_name = "legacy-shop";
  try {
    shop::app app(db_path, static_cast<std::size_t>(threads) + 1, shipping);
    options.on_drain = [&app] { app.stop_waiting(); };
    if (seed) {
      auto conn = app.db().acquire();
      auto counts = shop::seed(*conn);
      banyan::log::info(counts.skipped ? "seed skipped: database already has products" : "seeded",
                        {{"products", counts.products}, {"customers", counts.customers}, {"orders", counts.orders}});
    }
    // Reverse sync: the service's own writes flow back into the catalog while it owns them.
    shop::catalog::service_sink sink;
    std::unique_ptr<banyan::sync::feed_follower> follower;
    if (!follow.empty()) {
      banyan::sync::follower_options fo;
      fo.source_url = follow;
      fo.backfill = false;  // the monolith has the rows; the service's feed holds only its own writes
      follower = std::make_unique<banyan::sync::feed_follower>(db_path, sink, fo, &app.metrics());
    }
    // The order saga: the shipping service's answers, and the sweeper for those that never come.
    shop::orders::shipment_answers answers;
    std::unique_ptr<banyan::sync::feed_follower> shipping_follower;
    if (!follow_shipping.empty()) {
      banyan::sync::follower_options fo;
      fo.source_url = follow_shipping;
      fo.backfill = false;  // the monolith has the shipments it booked; the feed brings the service's
      shipping_follower = std::make_unique<banyan::sync::feed_follower>(db_path, answers, fo, &app.metrics());
    }
    // Joined (and told to stop) however this scope ends.
    std::jthread sweeper([&db_path](std::stop_token stop) {
      banyan::sqlite::connection conn(db_path);
      std::mutex m;
      std::condition_variable_any tick;
      std::unique_lock lock(m);
      // Every 200 ms: a booking's timeout is seconds; this is its resolution.
      while (!tick.wait_for(lock, stop, std::chrono::milliseconds(200), [] { return false; }) && !stop.stop_requested()) {
        try {
          shop::orders::cancel_overdue(conn, banyan::unix_ms());
        } catch (const std::exception& e) {
          banyan::log::warn("order saga: the sweeper failed; trying again", {{"why", e.what()}});
        }
      }
    });
    auto sync_of = [&](banyan::http::request& req) -> banyan::sync::feed_follower* {
      // Which follower: the one whose source the caller names (the proxy's barrier does), else the
      // only one there is.
      const auto source = req.query_param("source");
      for (auto* f : {follower.get(), shipping_follower.get()})
        if (f && source && f->status().source == *source) return f;
      if (source && follower && shipping_follower) return nullptr;
      return follower ? follower.get() : shipping_follower.get();
    };
    banyan::http::server server(
        options,
        [&app, &sync_of](banyan::http::request& req) {
          if (req.path == "/internal/sync" && (req.method == "GET" || req.method == "HEAD")) {
            auto* f = sync_of(req);
            if (!f)
              return banyan::http::error_response(404, "no_sync",
                                                  "legacy-shop follows no such service (--follow, --follow-shipping)");
            return banyan::http::json_response(200, banyan::sync::to_json(f->status()));
          }
          return app.handle(req);
        },
        &app.metrics());
    if (follower) follower->start();
    if (shipping_follower) shipping_follower->start();
    std::printf("listening on %s\n", server.local_address().c_str());
    std::fflush(stdout);
    server.run();
    if (follower) follower->stop();
    if (shipping_follower) shipping_follower->stop();
    banyan::log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "legacy-shop: " << e.what() << '\n';
    return 1;
  }
}
