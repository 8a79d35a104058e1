// catalog-service: the catalog extracted from legacy-shop, with its own database, kept in sync
// with the monolith's change feed.
#include "faults.hpp"
#include "service_app.hpp"

#include "banyan/platform/http_client.hpp"
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/units.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App cli{"catalog-service: legacy-shop's catalog as a service of its own, synced from the monolith's feed"};
  cli.set_version_flag("--version", std::string("catalog-service ") + BANYAN_VERSION);
  std::string listen = "127.0.0.1:8082";
  std::string db_path = "catalog-service.db";
  std::string source;
  int threads = 2;
  int page_limit = 500;
  std::string poll = "100ms";
  std::int64_t ready_lag_events = 100;
  double ready_lag_seconds = 5;
  std::string log_level = "info";
  cli.add_option("--listen", listen, "ADDR:PORT to listen on; port 0 picks a free one")->capture_default_str();
  cli.add_option("--db", db_path, "the service's own SQLite database (created when missing)")->capture_default_str();
  cli.add_option("--source", source, "URL of the monolith whose feed (/internal/events) the catalog follows");
  cli.add_option("--threads", threads, "worker threads")->capture_default_str();
  cli.add_option("--page-limit", page_limit, "events or rows asked for per request to the source")->capture_default_str();
  cli.add_option("--poll-interval", poll, "how often to ask the source once caught up (e.g. 100ms, 1s)")->capture_default_str();
  cli.add_option("--ready-max-lag-events", ready_lag_events, "/readyz fails when the sync is further behind")->capture_default_str();
  cli.add_option("--ready-max-lag-seconds", ready_lag_seconds, "/readyz fails when the oldest unapplied change is older")
      ->capture_default_str();
  cli.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  std::vector<std::string> fault_texts;
  cli.add_option("--fault", fault_texts,
                 "misbehave on purpose, for demos and tests: round-prices:CATEGORY (reads round that category's "
                 "prices) or slow:DURATION (every /api/ answer waits); repeatable")
      ->group("Fault injection");
  cli.footer("Example:\n  catalog-service --listen 127.0.0.1:0 --db /tmp/catalog.db --source http://127.0.0.1:8081");
  CLI11_PARSE(cli, argc, argv);

  auto usage = [](const std::string& what) {
    std::cerr << "catalog-service: " << what << '\n';
    return 2;
  };
  banyan::log::level level{};
  if (!banyan::log::parse_level(log_level, level)) return usage("--log-level: expected debug, info, warn or error, got '" + log_level + "'");
  banyan::log::set_min_level(level);
  if (threads < 1 || threads > 64) return usage("--threads: expected 1 to 64, got " + std::to_string(threads));
  if (page_limit < 1 || page_limit > 1000) return usage("--page-limit: expected 1 to 1000, got " + std::to_string(page_limit));
  if (ready_lag_events < 0) return usage("--ready-max-lag-events must not be negative");
  if (ready_lag_seconds < 0) return usage("--ready-max-lag-seconds must not be negative");

  catalog::faults faults;
  for (const auto& f : fault_texts)
    if (std::string why; !catalog::parse_fault(f, faults, why)) return usage("--fault: " + why);

  banyan::http::server_options options;
  if (!banyan::http::parse_listen_address(listen, options.address, options.port))
    return usage("--listen: expected ADDR:PORT, got '" + listen + "'");
  // Feed followers waiting for the next event hold a thread each: as many more as may wait.
  options.threads = threads + catalog::service_options{}.long_poll_slots;
  options.server_name = "catalog-service";

  catalog::service_options svc;
  svc.db_path = db_path;
  svc.connections = static_cast<std::size_t>(threads) + 1;
  if (!source.empty()) {
    banyan::http::http_url url;
    std::string why;
    if (!banyan::http::parse_http_url(source, url, why)) return usage("--source: " + why);
    svc.source_url = source;
  }
  svc.follow.page_limit = page_limit;
  if (!banyan::parse_duration(poll, svc.follow.poll_interval) || svc.follow.poll_interval.count() == 0) return usage("--poll-interval: expected a duration above zero such as 100ms or 1s, got '" + poll + "'");
  svc.ready_max_lag_events = ready_lag_events;
  svc.ready_max_lag_seconds = ready_lag_seconds;
  try {
    catalog::service_app app(svc);
    options.on_drain = [&app] { app.stop_waiting(); };
    banyan::http::server server(
        options,
        [&app, &faults](banyan::http::request& req) {
          auto res = app.handle(req);
          if (faults.any()) catalog::apply_faults(faults, req, res);
          return res;
        },
        &app.metrics());
    if (faults.any())
      banyan::log::warn("fault injection is on: this catalog-service misbehaves on purpose",
                        {{"round_prices_category", faults.round_prices_category}, {"delay_ms", faults.delay.count()}});
    app.start_sync();
    std::printf("listening on %s\n", server.local_address().c_str());
    std::fflush(stdout);
    server.run();
    banyan::log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "catalog-service: " << e.what() << '\n';
    return 1;
  }
}
