#include "banyan/proxy/proxy_config.hpp"

#include "banyan/platform/etcd_client.hpp"
#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/route_yaml.hpp"
#include "banyan/proxy/upstream_url.hpp"

#include <cstdlib>


namespace banyan::proxy {

namespace {
bool read_proxy_config(const std::string& text, const std::string& name, proxy_config& out, diagnostics& diags) {
  YAML::Node root;
  if (!load_yaml_mapping(text, name, root, diags)) return false;
  yaml_reader r(name, diags);
  r.check_keys(root, {"listen", "admin", "monolith", "state_dir", "threads", "access_log", "limits", "timeouts",
                      "health_checks", "cutover", "circuit_breaker", "fallback_to_monolith", "services", "routes", "data", "etcd"},
               "the configuration");
  r.string_field(root, "listen", out.listen);
  r.string_field(root, "monolith", out.monolith);
  r.string_field(root, "state_dir", out.state_dir);
  r.string_field(root, "access_log", out.access_log);
  r.int_field(root, "threads", out.data_plane.threads, 1, 256);
  r.bool_field(root, "fallback_to_monolith", out.data_plane.fallback_to_monolith);
  if (auto admin = root["admin"]; admin && r.is_map(admin, "admin")) {
    r.check_keys(admin, {"listen", "token_file", "allow_remote"}, "admin");
    r.string_field(admin, "listen", out.admin_listen);
    r.bool_field(admin, "allow_remote", out.admin_allow_remote);
    r.string_field(admin, "token_file", out.admin_token_file);
  }
  if (auto etcd = root["etcd"]; etcd && r.is_map(etcd, "etcd")) {
    r.check_keys(etcd, {"endpoints", "prefix", "instance", "start_from_local_copy"}, "etcd");
    if (auto e = etcd["endpoints"]) {
      std::string list;
      if (e.IsSequence()) {
        for (const auto& item : e) {
          std::string one;
          if (r.scalar(item, "an etcd endpoint URL", one)) list += (list.empty() ? "" : ",") + one;
        }
      } else {
        r.scalar(e, "etcd endpoint URLs", list);
      }
      if (std::string why; !etcd::parse_endpoints(list, out.fleet.endpoints, why)) r.error(e, "etcd endpoints: " + why);
    } else {
      r.error(etcd, "etcd needs endpoints: [http://HOST:PORT, …]");
    }
    if (auto p = etcd["prefix"]) {
      r.string_field(etcd, "prefix", out.fleet.prefix);
      if (std::string why; !valid_etcd_prefix(out.fleet.prefix, why)) r.error(p, "etcd prefix: " + why);
    }
    r.string_field(etcd, "instance", out.fleet.instance);
    r.bool_field(etcd, "start_from_local_copy", out.fleet.start_from_local_copy);
  }
  if (auto limits = root["limits"]; limits && r.is_map(limits, "limits")) {
    r.check_keys(limits,
                 {"max_head_bytes", "max_body_bytes", "buffer_bytes", "max_idle_per_upstream",
                  "max_connections_per_upstream"},
                 "limits");
    std::uint64_t head = out.data_plane.max_head_bytes, buffer = out.data_plane.buffer_bytes;
    std::uint64_t idle = out.data_plane.max_idle_per_upstream;
    int max_conns = static_cast<int>(out.data_plane.max_connections_per_upstream);
    r.int_field(limits, "max_connections_per_upstream", max_conns, 0, 1'000'000);
    out.data_plane.max_connections_per_upstream = static_cast<std::uint32_t>(max_conns);
    r.size_field(limits, "max_head_bytes", head);
    r.size_field(limits, "max_body_bytes", out.data_plane.max_body_bytes);
    r.size_field(limits, "buffer_bytes", buffer);
    r.size_field(limits, "max_idle_per_upstream", idle);
    out.data_plane.max_head_bytes = static_cast<std::size_t>(head);
    out.data_plane.buffer_bytes = static_cast<std::size_t>(buffer);
    out.data_plane.max_idle_per_upstream = static_cast<std::size_t>(idle);
  }
  if (auto t = root["timeouts"]; t && r.is_map(t, "timeouts")) {
    r.check_keys(t, {"header", "idle", "body", "connect", "upstream", "queue", "drain"}, "timeouts");
    r.duration_field(t, "header", out.data_plane.header_timeout);
    r.duration_field(t, "idle", out.data_plane.idle_timeout);
    r.duration_field(t, "body", out.data_plane.body_timeout);
    r.duration_field(t, "connect", out.data_plane.connect_timeout);
    r.duration_field(t, "upstream", out.data_plane.upstream_timeout);
    r.duration_field(t, "queue", out.data_plane.queue_timeout);
    r.duration_field(t, "drain", out.data_plane.drain_timeout);
  }
  if (auto h = root["health_checks"]; h && r.is_map(h, "health_checks")) {
    r.check_keys(h, {"path", "interval", "timeout", "unhealthy_after"}, "health_checks");
    r.string_field(h, "path", out.health_checks.path);
    if (!out.health_checks.path.empty() && out.health_checks.path.front() != '/')
      r.error(h["path"], "health_checks.path must start with '/' (or be empty to turn checks off)");
    r.duration_field(h, "interval", out.health_checks.interval);
    r.duration_field(h, "timeout", out.health_checks.timeout);
    r.int_field(h, "unhealthy_after", out.health_checks.unhealthy_after, 1, 100);
  }
  if (auto c = root["cutover"]; c && r.is_map(c, "cutover")) {
    r.check_keys(c, {"hold_limit"}, "cutover");
    r.duration_field(c, "hold_limit", out.cutover.hold_limit);
    // Writes wait this long at most; the CLI waits 30 s for the admin API's answer.
    if (c["hold_limit"] && (out.cutover.hold_limit < std::chrono::milliseconds(100) ||
                            out.cutover.hold_limit > std::chrono::seconds(20)))
      r.error(c["hold_limit"], "cutover.hold_limit must be from 100ms to 20s (writes wait that long at most)");
  }
  if (auto b = root["circuit_breaker"]; b && r.is_map(b, "circuit_breaker")) {
    r.check_keys(b, {"consecutive_failures", "error_percent", "min_requests", "window", "open_for"}, "circuit_breaker");
    auto& cb = out.circuit_breaker;
    r.int_field(b, "consecutive_failures", cb.failure_threshold, 1, 1000);
    int percent = static_cast<int>(cb.error_rate * 100 + 0.5);
    r.int_field(b, "error_percent", percent, 1, 100);
    cb.error_rate = percent / 100.0;
    r.int_field(b, "min_requests", cb.min_requests, 1, 1'000'000);
    std::chrono::milliseconds window{cb.window_ms}, open_for{cb.open_ms};
    r.duration_field(b, "window", window);
    r.duration_field(b, "open_for", open_for);
    if (b["window"] && window < std::chrono::milliseconds(100))
      r.error(b["window"], "circuit_breaker.window must be at least 100ms");
    if (b["open_for"] && (open_for < std::chrono::milliseconds(10) || open_for > std::chrono::minutes(10)))
      r.error(b["open_for"], "circuit_breaker.open_for must be from 10ms to 10m (then one probe is let through)");
    cb.window_ms = window.count();
    cb.open_ms = open_for.count();
  }
  // Upstream URLs are checked here, at their place in the file, before anything is started.
  auto check_url = [&](const YAML::Node& at, const std::string& url, const std::string& what) {
    std::string host, why;
    std::uint16_t port = 0;
    if (!split_upstream_url(url, host, port, why)) r.error(at, what + ": " + why);
  };
  if (auto m = root["monolith"]; m && !out.monolith.empty()) check_url(m, out.monolith, "monolith");
  if (auto services = root["services"]; services && r.is_map(services, "services")) {
    for (const auto& kv : services) {
      std::string url, service;
      if (!r.key(kv.first, "services", service) || !r.scalar(kv.second, "a service URL", url)) continue;
      check_url(kv.second, url, "service '" + service + "'");
      out.services[service] = url;
    }
  }
  if (auto data = root["data"]; data && r.is_map(data, "data")) {
    for (const auto& kv : data) {
      std::string url, owner;
      if (!r.key(kv.first, "data", owner) || !r.scalar(kv.second, "a data URL", url)) continue;
      check_url(kv.second, url, "data of '" + owner + "'");
      if (owner != "monolith" && root["services"] && !out.services.contains(owner))
        r.warning(kv.first, "data names '" + owner +
                                "', which is neither the monolith nor one of this file's services (fine if a plan "
                                "adds it; a typo leaves its data URL unused)");
      out.data_urls[owner] = url;
    }
  }
  if (auto routes = root["routes"]) {
    if (!routes.IsSequence()) r.error(routes, "routes must be a list");
    else
      for (const auto& n : routes) {
        route rt;
        read_route(r, n, rt, {"id", "match", "service", "mode", "percent", "canary_key", "writes", "shadow", "compare"});
        if (!rt.service.empty() && !out.services.contains(rt.service)) {
          std::vector<std::string_view> names;
          for (const auto& [k, v] : out.services) names.push_back(k);
          std::string message = "route '" + rt.id + "' names unknown service '" + rt.service + "'";
          if (auto hint = closest_match(rt.service, names); !hint.empty()) message += " (did you mean '" + hint + "'?)";
          r.error(n["service"], message);
        }
        out.routes.push_back(std::move(rt));
      }
  }
  if (!diags.has_errors()) {
    // Pure checks of the route set as a whole: ties, patterns, percents.
    std::vector<route_error> errors;
    if (!route_table::build(out.routes, errors))
      for (const auto& e : errors) {
        int line = 1, column = 1;
        for (std::size_t i = 0; i < out.routes.size(); ++i)
          if (out.routes[i].id == e.route_id) {
            const auto m = root["routes"][i].Mark();
            line = m.line + 1;
            column = m.column + 1;
          }
        diags.error(name, line, column, e.message);
      }
  }
  return !diags.has_errors();
}
}  // namespace

bool valid_etcd_prefix(const std::string& prefix, std::string& why) {
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() == '/') {
    why = "expected '/' and a name, without a trailing '/', e.g. /banyan; got '" + prefix + "'";
    return false;
  }
  for (std::size_t i = 1; i < prefix.size(); ++i) {
    const char c = prefix[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || (c == '/' && prefix[i - 1] != '/');
    if (!ok) {
      why = "'" + prefix + "' has '" + std::string(1, c) + "' at " + std::to_string(i) +
            "; use letters, digits, '.', '_', '-' and single '/'";
      return false;
    }
  }
  return true;
}

bool parse_proxy_config(const std::string& text, const std::string& name, proxy_config& out, diagnostics& diags) {
  return read_guarded(name, diags, [&] { return read_proxy_config(text, name, out, diags); });
}

bool load_proxy_config(const std::string& path, proxy_config& out, diagnostics& diags) {
  std::string text;
  return read_text_file(path, text, diags) && parse_proxy_config(text, path, out, diags);
}

}  // namespace banyan::proxy
