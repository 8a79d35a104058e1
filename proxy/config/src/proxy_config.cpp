#include "banyan/proxy/proxy_config.hpp"

#include "banyan/proxy/bucket.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace banyan::proxy {

namespace {

bool parse_number(std::string_view text, std::uint64_t& out, std::string_view& rest) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end == text.data()) return false;
  rest = text.substr(static_cast<std::size_t>(end - text.data()));
  return true;
}

// Walks YAML nodes, reporting problems at their position in the file.
class reader {
 public:
  reader(std::string file, diagnostics& d) : file_(std::move(file)), diags_(d) {}

  void error(const YAML::Node& at, const std::string& message) {
    const auto m = at.Mark();
    diags_.error(file_, m.line + 1, m.column + 1, message);
  }

  // Unknown keys are errors, with a hint when one is a likely typo.
  void check_keys(const YAML::Node& map, const std::vector<std::string_view>& known, std::string_view where) {
    for (const auto& kv : map) {
      const auto key = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string message = "unknown key '" + key + "' in " + std::string(where);
      if (auto hint = closest_match(key, known); !hint.empty()) message += " (did you mean '" + hint + "'?)";
      error(kv.first, message);
    }
  }

  bool is_map(const YAML::Node& n, std::string_view what) {
    if (n.IsMap()) return true;
    error(n, std::string(what) + " must be a mapping");
    return false;
  }

  bool scalar(const YAML::Node& n, std::string_view what, std::string& out) {
    if (!n.IsScalar()) {
      error(n, std::string(what) + " must be a single value");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  void string_field(const YAML::Node& map, const char* key, std::string& out) {
    if (auto n = map[key]) scalar(n, key, out);
  }

  void duration_field(const YAML::Node& map, const char* key, std::chrono::milliseconds& out) {
    std::string text;
    if (auto n = map[key]; n && scalar(n, key, text) && !parse_duration(text, out))
      error(n, std::string(key) + ": expected a duration such as 10s, 250ms or 2m, got '" + text + "'");
  }

  void size_field(const YAML::Node& map, const char* key, std::uint64_t& out) {
    std::string text;
    if (auto n = map[key]; n && scalar(n, key, text) && !parse_size(text, out))
      error(n, std::string(key) + ": expected a size such as 16KiB or 1MiB, got '" + text + "'");
  }

  void int_field(const YAML::Node& map, const char* key, int& out, int min, int max) {
    std::string text;
    if (auto n = map[key]; n && scalar(n, key, text)) {
      int v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
        error(n, std::string(key) + ": expected a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got '" + text + "'");
      else
        out = v;
    }
  }

  void bool_field(const YAML::Node& map, const char* key, bool& out) {
    std::string text;
    if (auto n = map[key]; n && scalar(n, key, text)) {
      if (text == "true") out = true;
      else if (text == "false") out = false;
      else error(n, std::string(key) + ": expected true or false, got '" + text + "'");
    }
  }

  void route_field(const YAML::Node& n, route& r) {
    if (!is_map(n, "a route")) return;
    check_keys(n, {"id", "match", "service", "mode", "percent", "canary_key"}, "route");
    string_field(n, "id", r.id);
    if (r.id.empty()) error(n, "route needs an id");
    if (auto m = n["match"]; m && is_map(m, "match")) {
      check_keys(m, {"methods", "path"}, "match");
      string_field(m, "path", r.path);
      if (auto methods = m["methods"]) {
        if (!methods.IsSequence()) error(methods, "methods must be a list such as [GET, HEAD]");
        else
          for (const auto& method : methods) {
            std::string text;
            if (scalar(method, "a method", text)) {
              if (method_bit(text) == (1u << 15)) error(method, "unknown method '" + text + "'");
              r.methods.push_back(text);
            }
          }
      }
    }
    if (r.path.empty()) error(n, "route '" + r.id + "' needs match.path");
    string_field(n, "service", r.service);
    std::string mode = "monolith";
    if (auto m = n["mode"]; m && scalar(m, "mode", mode) && !parse_mode(mode, r.mode)) {
      std::string message = "unknown mode '" + mode + "' (monolith, shadow, canary or service)";
      if (auto hint = closest_match(mode, {"monolith", "shadow", "canary", "service"}); !hint.empty())
        message += "; did you mean '" + hint + "'?";
      error(m, message);
    }
    std::string percent;
    if (auto p = n["percent"]; p && scalar(p, "percent", percent) && !parse_percent(percent, r.percent_bp))
      error(p, "percent must be a number from 0 to 100 (at most two decimals), got '" + percent + "'");
    if (auto k = n["canary_key"]) {
      std::string text;
      if (k.IsScalar() && k.Scalar() == "client_address") {
        r.key.from = canary_key::source::client_address;
      } else if (k.IsMap()) {
        check_keys(k, {"header", "cookie"}, "canary_key");
        if (auto h = k["header"]; h && scalar(h, "header", text)) r.key = {canary_key::source::header, text};
        else if (auto c = k["cookie"]; c && scalar(c, "cookie", text)) r.key = {canary_key::source::cookie, text};
        else error(k, "canary_key needs a header or a cookie name");
      } else {
        error(k, "canary_key is client_address, {header: NAME} or {cookie: NAME}");
      }
    }
  }

 private:
  std::string file_;
  diagnostics& diags_;
};

}  // namespace

bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept {
  std::uint64_t n = 0;
  std::string_view unit;
  if (!parse_number(text, n, unit) || n > 1'000'000'000ull) return false;
  if (unit.empty() || unit == "ms") out = std::chrono::milliseconds(n);
  else if (unit == "s") out = std::chrono::seconds(n);
  else if (unit == "m") out = std::chrono::minutes(n);
  else return false;
  return true;
}

bool parse_size(std::string_view text, std::uint64_t& out) noexcept {
  std::uint64_t n = 0;
  std::string_view unit;
  if (!parse_number(text, n, unit) || n > (1ull << 40)) return false;
  if (unit.empty() || unit == "B") out = n;
  else if (unit == "KiB") out = n << 10;
  else if (unit == "MiB") out = n << 20;
  else if (unit == "GiB") out = n << 30;
  else return false;
  return true;
}

bool parse_proxy_config(const std::string& text, const std::string& name, proxy_config& out, diagnostics& diags) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    diags.error(name, e.mark.line + 1, e.mark.column + 1, "YAML syntax: " + e.msg);
    return false;
  }
  reader r(name, diags);
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
    r.check_keys(admin, {"listen", "token_file"}, "admin");
    r.string_field(admin, "listen", out.admin_listen);
    r.string_field(admin, "token_file", out.admin_token_file);
  }
  if (auto limits = root["limits"]; limits && r.is_map(limits, "limits")) {
    r.check_keys(limits, {"max_head_bytes", "max_body_bytes", "buffer_bytes", "max_idle_per_upstream"}, "limits");
    std::uint64_t head = out.data_plane.max_head_bytes, buffer = out.data_plane.buffer_bytes;
    std::uint64_t idle = out.data_plane.max_idle_per_upstream;
    r.size_field(limits, "max_head_bytes", head);
    r.size_field(limits, "max_body_bytes", out.data_plane.max_body_bytes);
    r.size_field(limits, "buffer_bytes", buffer);
    r.size_field(limits, "max_idle_per_upstream", idle);
    out.data_plane.max_head_bytes = static_cast<std::size_t>(head);
    out.data_plane.buffer_bytes = static_cast<std::size_t>(buffer);
    out.data_plane.max_idle_per_upstream = static_cast<std::size_t>(idle);
  }
  if (auto t = root["timeouts"]; t && r.is_map(t, "timeouts")) {
    r.check_keys(t, {"header", "idle", "body", "connect", "upstream", "drain"}, "timeouts");
    r.duration_field(t, "header", out.data_plane.header_timeout);
    r.duration_field(t, "idle", out.data_plane.idle_timeout);
    r.duration_field(t, "body", out.data_plane.body_timeout);
    r.duration_field(t, "connect", out.data_plane.connect_timeout);
    r.duration_field(t, "upstream", out.data_plane.upstream_timeout);
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
  if (auto services = root["services"]; services && r.is_map(services, "services")) {
    for (const auto& kv : services) {
      std::string url;
      if (r.scalar(kv.second, "a service URL", url)) out.services[kv.first.as<std::string>()] = url;
    }
  }
  if (auto routes = root["routes"]) {
    if (!routes.IsSequence()) r.error(routes, "routes must be a list");
    else
      for (const auto& n : routes) {
        route rt;
        r.route_field(n, rt);
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

bool load_proxy_config(const std::string& path, proxy_config& out, diagnostics& diags) {
  std::ifstream in(path);
  if (!in) {
    diags.error(path, 1, 1, "cannot read the file");
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_proxy_config(text.str(), path, out, diags);
}

}  // namespace banyan::proxy
