// shipping-service: shipping extracted from legacy-shop, with its own database: the shipments
// copied from the monolith's feed, and the order saga's booking step (docs/saga.md).
#include "service_app.hpp"

#include "banyan/platform/http_client.hpp"
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/units.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>

namespace {

// fail-bookings:PERCENT or slow-bookings:DURATION; false with why otherwise.
bool parse_fault(std::string_view text, shipping::booking_faults& out, std::string& why) {
  const auto colon = text.find(':');
  const auto name = text.substr(0, colon), value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (name == "fail-bookings") {
    int percent = -1;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), percent);
    if (ec != std::errc() || end != value.data() + value.size() || percent < 0 || percent > 100) {
      why = "fail-bookings:PERCENT wants 0 to 100, got '" + std::string(value) + "'";
      return false;
    }
    out.fail_percent = percent;
    return true;
  }
  if (name == "slow-bookings") {
    if (!banyan::parse_duration(value, out.delay)) {
      why = "slow-bookings:DURATION wants a duration such as 500ms or 2s, got '" + std::string(value) + "'";
      return false;
    }
    return true;
  }
  why = "unknown fault '" + std::string(text) + "' (fail-bookings:PERCENT, slow-bookings:DURATION)";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"shipping-service: legacy-shop's shipping as a service of its own, synced from the monolith's feed"};
  cli.set_version_flag("--version", std::string("shipping-service ") + BANYAN_VERSION);
  std::string listen = "127.0.0.1:8083";
  std::string db_path = "shipping-service.db";
  std::string source;
  int threads = 2;
  std::string poll = "100ms";
  std::string log_level = "info";
  cli.add_option("--listen", listen, "ADDR:PORT to listen on; port 0 picks a free one")->capture_default_str();
  cli.add_option("--db", db_path, "the service's own SQLite database (created when missing)")->capture_default_str();
  cli.add_option("--source", source, "URL of the monolith whose feed (/internal/events) it follows");
  cli.add_option("--threads", threads, "worker threads")->capture_default_str();
  cli.add_option("--poll-interval", poll, "how often to ask the source once caught up (e.g. 100ms, 1s)")->capture_default_str();
  cli.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  std::vector<std::string> fault_texts;
  cli.add_option("--fault", fault_texts,
                 "misbehave on purpose, for demos and tests: fail-bookings:PERCENT (that share of orders, by id, "
                 "cannot be booked) or slow-bookings:DURATION (each booking waits first); repeatable")
      ->group("Fault injection");
  cli.footer("Example:\n  shipping-service --listen 127.0.0.1:0 --db /tmp/shipping.db --source http://127.0.0.1:8081");
  CLI11_PARSE(cli, argc, argv);

  auto usage = [](const std::string& what) {
    std::cerr << "shipping-service: " << what << '\n';
    return 2;
  };
  banyan::log::level level{};
  if (!banyan::log::parse_level(log_level, level))
    return usage("--log-level: expected debug, info, warn or error, got '" + log_level + "'");
  banyan::log::set_min_level(level);
  if (threads < 1 || threads > 64) return usage("--threads: expected 1 to 64, got " + std::to_string(threads));
  shipping::service_options svc;
  for (const auto& f : fault_texts)
    if (std::string why; !parse_fault(f, svc.faults, why)) return usage("--fault: " + why);
  banyan::http::server_options options;
  if (!banyan::http::parse_listen_address(listen, options.address, options.port))
    return usage("--listen: expected ADDR:PORT, got '" + listen + "'");
  // Feed followers waiting for the next event hold a thread each: as many more as may wait.
  options.threads = threads + shipping::service_options{}.long_poll_slots;
  options.server_name = "shipping-service";
  svc.db_path = db_path;
  svc.connections = static_cast<std::size_t>(threads) + 1;
  if (!source.empty()) {
    banyan::http::http_url url;
    std::string why;
    if (!banyan::http::parse_http_url(source, url, why)) return usage("--source: " + why);
    svc.source_url = source;
  }
  if (!banyan::parse_duration(poll, svc.follow.poll_interval) || svc.follow.poll_interval.count() == 0)
    return usage("--poll-interval: expected a duration above zero such as 100ms or 1s, got '" + poll + "'");
  try {
    shipping::service_app app(svc);
    options.on_drain = [&app] { app.stop_waiting(); };
    banyan::http::server server(options, [&app](banyan::http::request& req) { return app.handle(req); }, &app.metrics());
    if (svc.faults.fail_percent > 0 || svc.faults.delay.count() > 0)
      banyan::log::warn("fault injection is on: this shipping-service misbehaves on purpose",
                        {{"fail_bookings_percent", svc.faults.fail_percent}, {"booking_delay_ms", svc.faults.delay.count()}});
    app.start_sync();
    std::printf("listening on %s\n", server.local_address().c_str());
    std::fflush(stdout);
    server.run();
    banyan::log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "shipping-service: " << e.what() << '\n';
    return 1;
  }
}
