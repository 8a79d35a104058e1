// legacy-shop: the modular monolith Banyan's demo and tests migrate away from.
#include "app/shop_app.hpp"
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "seed/seed.hpp"

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
  cli.add_option("--listen", listen, "ADDR:PORT to listen on; port 0 picks a free one")->capture_default_str();
  cli.add_option("--db", db_path, "SQLite database file (created when missing)")->capture_default_str();
  cli.add_flag("--seed", seed, "fill an empty database with the reproducible demo data set");
  cli.add_option("--threads", threads, "worker threads")->check(CLI::Range(1, 64))->capture_default_str();
  cli.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
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
    banyan::http::server server(options, [&app](banyan::http::request& req) { return app.handle(req); },
                                &app.metrics());
    std::printf("listening on %s\n", server.local_address().c_str());
    std::fflush(stdout);
    server.run();
    banyan::log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "legacy-shop: " << e.what() << '\n';
    return 1;
  }
}
