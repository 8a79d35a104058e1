#include "banyan/proxy/proxy_config.hpp"

#include "banyan/proxy/bucket.hpp"
#include "banyan/shadow/json_path.hpp"

#include <cstdlib>


namespace banyan::proxy {

namespace {

void read_strings(yaml_reader& r, const YAML::Node& n, std::string_view what, std::vector<std::string>& out) {
  if (!n) return;
  if (!n.IsSequence()) {
    r.error(n, std::string(what) + " must be a list");
    return;
  }
  for (const auto& item : n) {
    std::string text;
    if (r.scalar(item, what, text)) out.push_back(text);
  }
}

void read_paths(yaml_reader& r, const YAML::Node& n, std::string_view what, std::vector<std::string>& out) {
  read_strings(r, n, what, out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    shadow::path_pattern p;
    std::string why;
    if (!shadow::path_pattern::parse(out[i], p, why)) r.error(n[i], std::string(what) + ": " + why);
  }
}

// writes, shadow and compare: how a shadowed route's copies are taken and compared.
void read_shadow(yaml_reader& r, const YAML::Node& n, shadow_settings& s) {
  std::string text;
  if (auto w = n["writes"]; w && r.scalar(w, "writes", text)) {
    if (text == "dry-run") s.dry_run_writes = true;
    else if (text != "skip") r.error(w, "writes must be skip or dry-run, got '" + text + "'");
  }
  if (auto sh = n["shadow"]; sh && r.is_map(sh, "shadow")) {
    r.check_keys(sh, {"sample", "consistent", "reverse", "max_compare_bytes"}, "shadow");
    if (auto v = sh["sample"]; v && r.scalar(v, "sample", text)) {
      std::string_view number = text;
      if (number.ends_with('%')) number.remove_suffix(1);  // "25%" and "25" alike
      if (!parse_percent(number, s.sample_bp))
        r.error(v, "sample must be a percent from 0 to 100 (at most two decimals), got '" + text + "'");
    }
    auto flag = [&](const char* key, bool& out) {
      if (auto v = sh[key]; v && r.scalar(v, key, text)) {
        if (text == "true") out = true;
        else if (text == "false") out = false;
        else r.error(v, std::string(key) + " must be true or false");
      }
    };
    flag("consistent", s.sample_by_key);
    flag("reverse", s.reverse);
    if (auto v = sh["max_compare_bytes"]; v && r.scalar(v, "max_compare_bytes", text) && !parse_size(text, s.max_compare_bytes))
      r.error(v, "max_compare_bytes must be a size such as 1MiB, got '" + text + "'");
  }
  if (auto c = n["compare"]; c && r.is_map(c, "compare")) {
    auto& cs = s.compare;
    r.check_keys(c, {"ignore", "headers", "ignore_headers", "tolerance", "unordered", "redact", "redact_headers"},
                 "compare");
    read_paths(r, c["ignore"], "compare.ignore", cs.ignore);
    read_paths(r, c["redact"], "compare.redact", cs.redact);
    read_strings(r, c["headers"], "compare.headers", cs.headers);
    read_strings(r, c["ignore_headers"], "compare.ignore_headers", cs.ignore_headers);
    read_strings(r, c["redact_headers"], "compare.redact_headers", cs.redact_headers);
    if (auto t = c["tolerance"]; t && r.scalar(t, "tolerance", text)) {
      char* end = nullptr;
      cs.tolerance = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(cs.tolerance >= 0))
        r.error(t, "tolerance must be a number of at least 0, got '" + text + "'");
    }
    if (auto u = c["unordered"]; u && r.is_map(u, "compare.unordered")) {
      for (const auto& kv : u) {
        std::string path, key;
        if (!r.scalar(kv.first, "an array path", path) || !r.scalar(kv.second, "a key field", key)) continue;
        shadow::path_pattern p;
        std::string why;
        if (!shadow::path_pattern::parse(path, p, why)) r.error(kv.first, "compare.unordered: " + why);
        cs.unordered.emplace_back(path, key);
      }
    }
  }
}

}  // namespace

void read_route(yaml_reader& r, const YAML::Node& n, route& rt, const std::vector<std::string_view>& keys) {
  if (!r.is_map(n, "a route")) return;
  r.check_keys(n, keys, "route");
  r.string_field(n, "id", rt.id);
  if (rt.id.empty()) r.error(n, "route needs an id");
  if (auto m = n["match"]; m && r.is_map(m, "match")) {
    r.check_keys(m, {"methods", "path"}, "match");
    r.string_field(m, "path", rt.path);
    if (auto methods = m["methods"]) {
      if (!methods.IsSequence()) r.error(methods, "methods must be a list such as [GET, HEAD]");
      else
        for (const auto& method : methods) {
          std::string text;
          if (r.scalar(method, "a method", text)) {
            if (method_bit(text) == (1u << 15)) r.error(method, "unknown method '" + text + "'");
            rt.methods.push_back(text);
          }
        }
    }
  }
  if (rt.path.empty()) r.error(n, "route '" + rt.id + "' needs match.path");
  r.string_field(n, "service", rt.service);
  std::string mode = "monolith";
  if (auto m = n["mode"]; m && r.scalar(m, "mode", mode) && !parse_mode(mode, rt.mode)) {
    std::string message = "unknown mode '" + mode + "' (monolith, shadow, canary or service)";
    if (auto hint = closest_match(mode, {"monolith", "shadow", "canary", "service"}); !hint.empty())
      message += "; did you mean '" + hint + "'?";
    r.error(m, message);
  }
  std::string percent;
  if (auto p = n["percent"]; p && r.scalar(p, "percent", percent) && !parse_percent(percent, rt.percent_bp))
    r.error(p, "percent must be a number from 0 to 100 (at most two decimals), got '" + percent + "'");
  if (auto k = n["canary_key"]) {
    std::string text;
    if (k.IsScalar() && k.Scalar() == "client_address") {
      rt.key.from = canary_key::source::client_address;
    } else if (k.IsMap()) {
      r.check_keys(k, {"header", "cookie"}, "canary_key");
      if (auto h = k["header"]; h && r.scalar(h, "header", text)) rt.key = {canary_key::source::header, text};
      else if (auto c = k["cookie"]; c && r.scalar(c, "cookie", text)) rt.key = {canary_key::source::cookie, text};
      else r.error(k, "canary_key needs a header or a cookie name");
    } else {
      r.error(k, "canary_key is client_address, {header: NAME} or {cookie: NAME}");
    }
  }
  read_shadow(r, n, rt.shadow);
}

namespace {
bool read_proxy_config(const std::string& text, const std::string& name, proxy_config& out, diagnostics& diags) {
  YAML::Node root;
  if (!load_yaml(text, name, root, diags)) return false;
  yaml_reader r(name, diags);
  if (!root.IsMap()) {
    diags.error(name, 1, 1, "the configuration must be a YAML mapping");
    return false;
  }
  r.check_keys(root, {"listen", "admin", "monolith", "state_dir", "threads", "access_log", "limits", "timeouts",
                      "health_checks", "fallback_to_monolith", "services", "routes"},
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

bool parse_proxy_config(const std::string& text, const std::string& name, proxy_config& out, diagnostics& diags) {
  try {
    return read_proxy_config(text, name, out, diags);
  } catch (const YAML::Exception& e) {  // a shape no check foresaw: still a diagnostic, never a crash
    diags.error(name, e.mark.line + 1, e.mark.column + 1, "cannot read this YAML: " + e.msg);
    return false;
  }
}

bool load_proxy_config(const std::string& path, proxy_config& out, diagnostics& diags) {
  std::string text;
  return read_text_file(path, text, diags) && parse_proxy_config(text, path, out, diags);
}

}  // namespace banyan::proxy
