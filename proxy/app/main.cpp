// banyan-proxy: the strangler proxy in front of a monolith.
#include "banyan/platform/clock.hpp"
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/metrics.hpp"
#include "banyan/proxy/admin_api.hpp"
#include "banyan/proxy/data_plane.hpp"
#include "banyan/proxy/evidence_harvester.hpp"
#include "banyan/proxy/shadow_mirror.hpp"
#include "banyan/shadow/recorder.hpp"
#include "banyan/proxy/health_checker.hpp"
#include "banyan/proxy/proxy_config.hpp"
#include "banyan/proxy/upstream_url.hpp"
#include "banyan/proxy/fleet_instance.hpp"
#include "banyan/proxy/state_store.hpp"
#include "banyan/platform/etcd_client.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace {

using namespace banyan;

// The data plane's figures in Prometheus text (rendered on scrape, off the request path).
std::string render_metrics(proxy::routing_state& routing, const proxy::data_plane& plane,
                           const shadow::shadow_recorder& recorder, const proxy::shadow_mirror& mirror) {
  metrics::registry r;
  {
    const auto t = recorder.totals();
    std::string why;
    r.get_gauge("banyan_shadow_store_writable", "0 while shadow results cannot be saved").set(recorder.writable(why) ? 1 : 0);
    r.get_counter("banyan_shadow_compared_total", "Shadow exchanges compared").inc(static_cast<double>(t.compared));
    r.get_counter("banyan_shadow_matched_total", "Shadow exchanges whose answers matched (before noise learning)")
        .inc(static_cast<double>(t.matched));
    r.get_counter("banyan_shadow_results_lost_total", "Shadow results dropped while the store could not be written")
        .inc(static_cast<double>(t.lost + t.dropped));
    r.get_counter("banyan_shadow_store_failures_total", "Failed writes of shadow results")
        .inc(static_cast<double>(t.store_failures));
    r.get_gauge("banyan_shadow_in_flight", "Shadow copies on the wire").set(static_cast<double>(mirror.in_flight()));
  }
  r.get_gauge("banyan_active_connections", "Open client connections").set(static_cast<double>(plane.active_connections()));
  const auto now = steady_ms();
  for (const auto& u : routing.upstreams()) {
    const metrics::labels l{{"upstream", u->name}, {"url", u->url}};
    r.get_counter("banyan_upstream_requests_total", "Requests sent to an upstream", l).inc(static_cast<double>(u->requests.load()));
    r.get_counter("banyan_upstream_failures_total", "Failed attempts to reach an upstream", l)
        .inc(static_cast<double>(u->failures.load()));
    r.get_gauge("banyan_upstream_circuit_open", "1 while the upstream's circuit breaker is open", l)
        .set(u->breaker.current(now) == proxy::circuit_breaker::state::open ? 1 : 0);
    r.get_gauge("banyan_upstream_healthy", "0 while the upstream fails its active health checks", l)
        .set(u->healthy.load() ? 1 : 0);
    r.get_gauge("banyan_upstream_connections", "Open data-plane connections to the upstream, idle ones included", l)
        .set(static_cast<double>(u->connections.open()));
    r.get_gauge("banyan_upstream_queued", "Requests waiting for a connection under the upstream's cap", l)
        .set(static_cast<double>(u->connections.waiting.load()));
    r.get_counter("banyan_upstream_saturated_total", "Requests that found no connection free within the queue timeout", l)
        .inc(static_cast<double>(u->connections.saturated.load()));
  }
  if (const auto snap = routing.load()) r.get_gauge("banyan_routing_version", "Routing snapshot in force").set(static_cast<double>(snap->version));
  constexpr auto& classes = proxy::route_stats::class_names;
  constexpr auto& kinds = proxy::route_stats::upstream_kind_names;
  std::vector<double> bounds(proxy::route_stats::bounds.begin(), proxy::route_stats::bounds.end());
  for (const auto& st : routing.all_stats()) {
    const std::string route = st->route_id.empty() ? "-" : st->route_id;
    for (std::size_t m = 0; m < proxy::route_stats::modes; ++m)
      for (std::size_t k = 0; k < proxy::route_stats::upstream_kinds; ++k)
        for (std::size_t c = 0; c < proxy::route_stats::classes; ++c) {
          const auto n = st->requests[(m * proxy::route_stats::upstream_kinds + k) * proxy::route_stats::classes + c].load();
          if (n == 0) continue;
          r.get_counter("banyan_requests_total", "Requests by route, mode, upstream and status class",
                        {{"route", route},
                         {"mode", std::string(proxy::to_string(static_cast<proxy::route_mode>(m)))},
                         {"upstream", kinds[k]},
                         {"class", classes[c]}})
              .inc(static_cast<double>(n));
        }
    const std::pair<const char*, const std::atomic<std::uint64_t>*> shadow_counts[] = {
        {"copied", &st->shadow_copied},
        {"skipped_write", &st->shadow_skipped_writes},
        {"too_large", &st->shadow_too_large},
        {"dropped", &st->shadow_dropped}};
    for (const auto& [outcome, counter] : shadow_counts)
      if (const auto n = counter->load())
        r.get_counter("banyan_shadow_copies_total", "Shadow copies by route: copied, or why not",
                      {{"route", route}, {"outcome", outcome}})
            .inc(static_cast<double>(n));
    if (const auto n = st->writes_held.load())
      r.get_counter("banyan_writes_held_total", "Writes a cut-over barrier held on the route", {{"route", route}})
          .inc(static_cast<double>(n));
    if (const auto n = st->writes_in_flight.load())
      r.get_gauge("banyan_writes_in_flight", "Writes on the route sent and not yet finished", {{"route", route}})
          .set(static_cast<double>(n));
    for (std::size_t k = 0; k < proxy::route_stats::upstream_kinds; ++k) {
      if (st->latency_count[k].load() == 0) continue;
      auto& h = r.get_histogram("banyan_request_duration_seconds", "Time from request head to the end of the response",
                                {{"route", route}, {"upstream", kinds[k]}}, bounds);
      std::vector<std::uint64_t> counts(bounds.size() + 1);
      for (std::size_t b = 0; b < counts.size(); ++b) counts[b] = st->latency_buckets[k * counts.size() + b].load();
      h.merge(counts.data(), counts.size(), static_cast<double>(st->latency_sum_us[k].load()) / 1e6);
    }
  }
  return r.render();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"banyan-proxy: move a monolith's routes to extracted services, one at a time"};
  cli.set_version_flag("--version", std::string("banyan-proxy ") + BANYAN_VERSION);
  std::string config_file, listen, monolith, admin_listen, state_dir, token_file, access_log;
  int threads = 0;
  cli.add_option("--config", config_file, "YAML configuration file (flags below override it)")->check(CLI::ExistingFile);
  cli.add_option("--listen", listen, "ADDR:PORT for client traffic (default 127.0.0.1:8080; port 0 picks one)");
  cli.add_option("--monolith", monolith, "the monolith's URL, e.g. http://127.0.0.1:8081");
  cli.add_option("--admin-listen", admin_listen, "ADDR:PORT of the admin API (default 127.0.0.1:9901)");
  cli.add_option("--threads", threads, "event-loop threads (default 1)")->check(CLI::Range(1, 256));
  cli.add_option("--state-dir", state_dir, "where routing state and the audit log persist (default ./banyan-state)");
  cli.add_option("--admin-token-file", token_file, "admin bearer token (default <state-dir>/admin.token, created 0600)");
  bool allow_remote_admin = false;
  cli.add_flag("--admin-allow-remote", allow_remote_admin,
               "let the admin API listen on an address other than loopback (it changes routing: expose it knowingly)");
  cli.add_option("--access-log", access_log, "off, stderr or a file path: one JSON line per request (default stderr)");
  std::string etcd_endpoints, etcd_prefix;
  cli.add_option("--etcd", etcd_endpoints,
                 "etcd endpoints http://HOST:PORT[,…]: routing, plan and audit shared by a fleet (docs/fleet.md)");
  cli.add_option("--etcd-prefix", etcd_prefix, "the fleet's key prefix in etcd (default /banyan)");
  cli.footer("Example:\n  banyan-proxy --listen 127.0.0.1:8080 --monolith http://127.0.0.1:8081");
  CLI11_PARSE(cli, argc, argv);

  proxy::proxy_config config;
  if (!config_file.empty()) {
    diagnostics diags;
    if (!proxy::load_proxy_config(config_file, config, diags)) {
      std::cerr << diags.to_string();
      return 2;
    }
    std::cerr << diags.to_string();  // warnings: the configuration is used, but said once
  }
  if (!listen.empty()) config.listen = listen;
  if (!monolith.empty()) config.monolith = monolith;
  if (!admin_listen.empty()) config.admin_listen = admin_listen;
  if (!state_dir.empty()) config.state_dir = state_dir;
  if (!token_file.empty()) config.admin_token_file = token_file;
  if (threads > 0) config.data_plane.threads = threads;
  if (!access_log.empty()) config.access_log = access_log;
  if (config.monolith.empty()) {
    std::cerr << "banyan-proxy: no monolith: give --monolith URL or 'monolith:' in the config file\n";
    return 2;
  }
  if (std::string host, why; !monolith.empty()) {  // the file's value was checked where it stands
    std::uint16_t port = 0;
    if (!proxy::split_upstream_url(monolith, host, port, why)) {
      std::cerr << "banyan-proxy: --monolith: " << why << '\n';
      return 2;
    }
  }
  if (!http::parse_listen_address(config.listen, config.data_plane.address, config.data_plane.port)) {
    std::cerr << "banyan-proxy: listen: expected ADDR:PORT, got '" << config.listen << "'\n";
    return 2;
  }
  http::server_options admin_options;
  if (!http::parse_listen_address(config.admin_listen, admin_options.address, admin_options.port)) {
    std::cerr << "banyan-proxy: admin listen: expected ADDR:PORT, got '" << config.admin_listen << "'\n";
    return 2;
  }
  if (allow_remote_admin) config.admin_allow_remote = true;
  if (!proxy::is_loopback_address(admin_options.address) && !config.admin_allow_remote) {
    std::cerr << "banyan-proxy: the admin API would listen on " << admin_options.address
              << ", which is not a loopback address; anyone who reaches it with the token changes routing.\n"
                 "  Keep it on 127.0.0.1, or say so: --admin-allow-remote (admin: {allow_remote: true} in the config)\n";
    return 2;
  }
  if (!etcd_endpoints.empty()) {
    if (std::string why; !etcd::parse_endpoints(etcd_endpoints, config.fleet.endpoints, why)) {
      std::cerr << "banyan-proxy: --etcd: " << why << '\n';
      return 2;
    }
  }
  if (!etcd_prefix.empty()) {
    if (std::string why; !proxy::valid_etcd_prefix(etcd_prefix, why)) {
      std::cerr << "banyan-proxy: --etcd-prefix: " << why << '\n';
      return 2;
    }
    config.fleet.prefix = etcd_prefix;
  }
  const bool in_fleet = !config.fleet.endpoints.empty();
  if (in_fleet && config.admin_token_file.empty()) {
    // One token for the whole fleet: an operator's CLI talks to any instance with it. Generated per
    // instance, each would have its own.
    std::cerr << "banyan-proxy: a fleet shares one admin token: create it once (e.g. openssl rand -hex 32 > "
                 "fleet.token; chmod 600 fleet.token) and give every instance --admin-token-file "
                 "(admin: {token_file: …})\n";
    return 2;
  }
  if (config.admin_token_file.empty())
    config.admin_token_file = (std::filesystem::path(config.state_dir) / "admin.token").string();

  try {
    if (in_fleet && !std::filesystem::exists(config.admin_token_file))
      throw std::runtime_error("the fleet's admin token " + config.admin_token_file +
                               " does not exist; a fleet shares one token, created once (docs/fleet.md)");
    std::filesystem::create_directories(config.state_dir);
    const std::string token = proxy::load_or_create_token(config.admin_token_file);
    proxy::routing_state state(config.circuit_breaker);
    state.set_data_urls(config.data_urls);
    std::unique_ptr<proxy::fleet::fleet_instance> fleet;
    std::unique_ptr<proxy::state_store> local_store;
    proxy::audit_entry bootstrap;
    bootstrap.operator_name = "banyan-proxy";
    bootstrap.token_id = "-";
    bootstrap.action = "routes.bootstrap";
    bootstrap.target = "*";
    bootstrap.before = "{}";
    bootstrap.after = "{}";
    bootstrap.reason = config_file.empty() ? "first start" : "first start from " + config_file;
    if (in_fleet) {
      fleet = std::make_unique<proxy::fleet::fleet_instance>(
          proxy::fleet::instance_options{config.fleet.endpoints, config.fleet.prefix, config.fleet.instance,
                                         config.fleet.start_from_local_copy, config.state_dir, config.monolith,
                                         BANYAN_VERSION, token},
          state, proxy::stored_routing{config.routes, config.services, 0}, bootstrap);
    } else {
      local_store = std::make_unique<proxy::sqlite_state_store>(config.state_dir);
      proxy::stored_routing routing;
      if (auto saved = local_store->load()) {
        routing = std::move(*saved);  // a restart resumes exactly where it was
      } else {
        routing = {config.routes, config.services, 0};
        local_store->save(routing, bootstrap);
      }
      std::vector<proxy::route_error> errors;
      if (!state.install(routing.routes, routing.services, config.monolith, errors)) {
        for (const auto& e : errors) std::cerr << "banyan-proxy: " << (e.route_id.empty() ? "" : e.route_id + ": ") << e.message << '\n';
        return 2;
      }
    }
    config.data_plane.handle_signals = true;
    if (config.access_log == "stderr") {
      config.data_plane.access_log_fd = STDERR_FILENO;
    } else if (config.access_log != "off") {
      config.data_plane.access_log_fd = proxy::open_access_log_file(config.access_log);
      if (config.data_plane.access_log_fd < 0) throw std::runtime_error("cannot open access log " + config.access_log);
      config.data_plane.access_log_path = config.access_log;
    }
    shadow::shadow_recorder recorder((std::filesystem::path(config.state_dir) / "banyan.db").string());
    proxy::shadow_mirror mirror(recorder);
    proxy::evidence_harvester harvester(state, recorder);
    config.data_plane.mirror = &mirror;
    proxy::data_plane plane(config.data_plane, state);
    proxy::admin_api api({state, fleet ? fleet->store() : *local_store, token, config.monolith,
                          [&] { return render_metrics(state, plane, recorder, mirror); }, &recorder, config.cutover,
                          fleet ? &fleet->view() : nullptr, fleet ? &fleet->barrier() : nullptr});
    // Two threads: while one change waits in a write cut-over barrier (up to its hold limit),
    // status, metrics and health are still answered. Changes themselves take turns (admin_api).
    admin_options.threads = 2;
    admin_options.server_name = "banyan-proxy-admin";
    admin_options.handle_signals = false;  // the data plane owns the drain; the admin plane follows it
    admin_options.access_log = false;
    http::server admin(admin_options, [&api](http::request& req) { return api.handle(req); });
    // Registered before the admin API answers, so that what it says of the fleet names this
    // instance; followed from here on.
    if (fleet) fleet->start("http://" + admin.local_address(), "http://" + plane.local_address());
    std::thread admin_thread([&admin] { admin.run(); });
    proxy::health_checker health(state, config.health_checks);

    std::printf("listening on %s\nadmin listening on %s\n", plane.local_address().c_str(), admin.local_address().c_str());
    std::fflush(stdout);
    plane.run();
    admin.stop();
    admin_thread.join();
    if (fleet) fleet->stop();  // leaves the fleet
    log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "banyan-proxy: " << e.what() << '\n';
    return 1;
  }
}
