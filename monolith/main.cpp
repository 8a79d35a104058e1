// legacy-shop: the modular monolith Banyan's demo and tests migrate away from.
#include "app/shop_app.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/feed_follower.hpp"
#include "modules/catalog/catalog_follow.hpp"
#include "seed/seed.hpp"

#include <memory>

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
  if (!follow.empty()) {
    banyan::http::http_url url;
    std::string why;
    if (!banyan::http::parse_http_url(follow, url, why)) {
      std::cerr << "legacy-shop: --follow: " << why << '\n';
      return 2;
    }
  }
  options.threads = threads;
  options.server_name = "legacy-shop";
  try {
    shop::app app(db_path, static_cast<std::size_t>(threads) + 1);
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
    banyan::http::server server(
        options,
        [&app, &follower](banyan::http::request& req) {
          if (req.path == "/internal/sync" && (req.method == "GET" || req.method == "HEAD")) {
            if (!follower) return banyan::http::error_response(404, "no_sync", "legacy-shop follows no service (--follow)");
            return banyan::http::json_response(200, banyan::sync::to_json(follower->status()));
          }
          return app.handle(req);
        },
        &app.metrics());
    if (follower) follower->start();
    std::printf("listening on %s\n", server.local_address().c_str());
    std::fflush(stdout);
    server.run();
    if (follower) follower->stop();
    banyan::log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "legacy-shop: " << e.what() << '\n';
    return 1;
  }
}
