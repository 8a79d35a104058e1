#include "banyan/plan/plan.hpp"

#include "banyan/platform/yaml_reader.hpp"
#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/route_yaml.hpp"
#include "banyan/proxy/upstream_url.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

namespace banyan::plan {

std::string_view to_string(no_traffic_policy p) noexcept {
  switch (p) {
    case no_traffic_policy::wait: return "wait";
    case no_traffic_policy::pass: return "pass";
    case no_traffic_policy::fail: return "fail";
  }
  return "wait";
}

const stage* plan::find_stage(std::string_view stage_name) const noexcept {
  for (const auto& s : stages)
    if (s.name == stage_name) return &s;
  return nullptr;
}

std::vector<proxy::route> plan::routes_at(const stage& target) const {
  // Each stage changes the routes it names; the others keep what earlier stages set.
  std::map<std::string, std::pair<proxy::route_mode, std::uint32_t>> current;
  for (const auto& s : stages) {
    for (const auto& rs : s.routes) current[rs.route_id] = {rs.mode, rs.percent_bp};
    if (&s == &target) break;
  }
  std::vector<proxy::route> out;
  for (const auto& d : routes) {
    proxy::route r = d.route;
    if (auto it = current.find(r.id); it != current.end()) {
      r.mode = it->second.first;
      r.percent_bp = it->second.second;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool route_change::changed() const noexcept {
  if (!before) return true;
  const auto& b = *before;
  return b.mode != after.mode || b.percent_bp != after.percent_bp || b.path != after.path ||
         b.methods != after.methods || b.service != after.service || b.key.from != after.key.from ||
         b.key.name != after.key.name || b.shadow != after.shadow;
}

bool routing_diff::empty() const noexcept {
  return services.empty() && std::none_of(routes.begin(), routes.end(), [](const auto& c) { return c.changed(); });
}

routing_diff diff(const plan& p, const stage& s, const std::vector<proxy::route>& live_routes,
                  const std::map<std::string, std::string>& live_services) {
  routing_diff d;
  for (const auto& target : p.routes_at(s)) {
    route_change c{target.id, std::nullopt, target};
    for (const auto& live : live_routes)
      if (live.id == target.id) c.before = live;
    d.routes.push_back(std::move(c));
  }
  for (const auto& svc : p.services) {
    auto it = live_services.find(svc.name);
    if (it == live_services.end() || it->second != svc.url)
      d.services.push_back({svc.name, it == live_services.end() ? std::string() : it->second, svc.url});
  }
  return d;
}

namespace {

position at(const YAML::Node& n) {
  const auto m = n.Mark();
  return {m.line + 1, m.column + 1};
}

std::vector<std::string_view> names_of(const auto& items, auto member) {
  std::vector<std::string_view> out;
  for (const auto& i : items) out.push_back(i.*member);
  return out;
}

std::string hint(std::string_view word, const std::vector<std::string_view>& candidates) {
  auto m = closest_match(word, candidates);
  return m.empty() ? std::string() : " (did you mean '" + m + "'?)";
}

// "99.5%", "99.5" → 99.5
bool parse_percent_value(std::string text, double& out) {
  if (!text.empty() && text.back() == '%') text.pop_back();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// A route's share of users on the service under a setting: shadow and monolith send none.
std::uint32_t service_share(proxy::route_mode mode, std::uint32_t percent_bp) {
  switch (mode) {
    case proxy::route_mode::canary: return percent_bp;
    case proxy::route_mode::service: return 10'000;
    default: return 0;
  }
}

class plan_reader {
 public:
  plan_reader(const std::string& name, diagnostics& d) : file_(name), diags_(d), r_(name, d) {}

  void read(const YAML::Node& root, plan& p) {
    if (!root.IsMap()) {
      diags_.error(file_, 1, 1, "a plan must be a YAML mapping");
      return;
    }
    r_.check_keys(root, {"plan", "description", "services", "routes", "stages", "rollback"}, "the plan");
    r_.string_field(root, "plan", p.name);
    if (p.name.empty()) diags_.error(file_, 1, 1, "the plan needs a name ('plan: NAME')");
    r_.string_field(root, "description", p.description);
    read_services(root["services"], p);
    read_routes(root["routes"], p);
    read_stages(root["stages"], p);
    read_rollback(root["rollback"], p);
    if (!diags_.has_errors()) check_progression(p);
  }

 private:
  void read_services(const YAML::Node& n, plan& p) {
    if (!n || !n.IsMap() || n.size() == 0) {
      err(n, "the plan needs 'services': the extracted services, each with its URL");
      return;
    }
    for (const auto& kv : n) {
      service_decl s;
      if (!r_.key(kv.first, "services", s.name)) continue;
      s.at = at(kv.first);
      const auto& v = kv.second;
      if (v.IsScalar()) {
        s.url = v.Scalar();
      } else if (r_.is_map(v, "a service")) {
        r_.check_keys(v, {"url", "health"}, "service '" + s.name + "'");
        r_.string_field(v, "url", s.url);
        r_.string_field(v, "health", s.health_path);
        if (s.health_path.empty() || s.health_path.front() != '/')
          err(v["health"], "service '" + s.name + "': health must be a path starting with '/'");
      }
      std::string host, why;
      std::uint16_t port = 0;
      if (!proxy::split_upstream_url(s.url, host, port, why))
        err(v.IsMap() ? v["url"] : v, "service '" + s.name + "': " + why);
      p.services.push_back(std::move(s));
    }
  }

  void read_routes(const YAML::Node& n, plan& p) {
    if (!n || !n.IsSequence() || n.size() == 0) {
      err(n, "the plan needs 'routes': a list of the routes it moves");
      return;
    }
    const auto services = names_of(p.services, &service_decl::name);
    std::set<std::string> ids;
    for (const auto& rn : n) {
      route_decl d;
      d.at = at(rn);
      proxy::read_route(r_, rn, d.route, {"id", "match", "service", "canary_key", "writes", "shadow", "compare"});
      if (!rn.IsMap()) continue;
      if (!d.route.id.empty() && !ids.insert(d.route.id).second) err(rn["id"], "duplicate route id '" + d.route.id + "'");
      if (d.route.service.empty()) err(rn, "route '" + d.route.id + "' needs a service");
      else if (std::find(services.begin(), services.end(), d.route.service) == services.end())
        err(rn["service"], "route '" + d.route.id + "' names unknown service '" + d.route.service + "'" +
                               hint(d.route.service, services));
      d.route.mode = proxy::route_mode::service;  // the table checks below need a mode that uses the service
      p.routes.push_back(std::move(d));
    }
    if (diags_.has_errors()) return;
    // Ties and bad patterns, judged by the same table the proxy builds.
    std::vector<proxy::route> table;
    for (const auto& d : p.routes) table.push_back(d.route);
    std::vector<proxy::route_error> errors;
    if (!proxy::route_table::build(table, errors))
      for (const auto& e : errors) {
        const position pos = find_route(p, e.route_id);
        diags_.error(file_, pos.line, pos.column, e.message);
      }
    for (auto& d : p.routes) d.route.mode = proxy::route_mode::monolith;
  }

  void read_stages(const YAML::Node& n, plan& p) {
    if (!n || !n.IsSequence() || n.size() == 0) {
      err(n, "the plan needs 'stages': the ordered steps its routes move through");
      return;
    }
    std::vector<std::string_view> route_ids;
    for (const auto& d : p.routes) route_ids.push_back(d.route.id);
    std::set<std::string> names;
    for (const auto& sn : n) {
      stage s;
      s.at = at(sn);
      if (!r_.is_map(sn, "a stage")) continue;
      r_.check_keys(sn, {"name", "routes", "gates"}, "stage");
      r_.string_field(sn, "name", s.name);
      if (s.name.empty()) err(sn, "a stage needs a name");
      else if (!names.insert(s.name).second) err(sn["name"], "duplicate stage name '" + s.name + "'");
      if (auto routes = sn["routes"]; routes && r_.is_map(routes, "a stage's routes")) {
        for (const auto& kv : routes) {
          route_setting rs;
          if (!r_.key(kv.first, "a stage's routes", rs.route_id)) continue;
          rs.at = at(kv.first);
          if (std::find(route_ids.begin(), route_ids.end(), rs.route_id) == route_ids.end())
            err(kv.first, "stage '" + s.name + "' sets unknown route '" + rs.route_id + "'" + hint(rs.route_id, route_ids));
          read_setting(kv.second, s.name, rs);
          s.routes.push_back(std::move(rs));
        }
      } else if (!sn["routes"]) {
        err(sn, "stage '" + s.name + "' needs 'routes': which mode each route takes");
      }
      if (auto g = sn["gates"]) read_gates(g, s);
      p.stages.push_back(std::move(s));
    }
  }

  void read_setting(const YAML::Node& v, const std::string& stage_name, route_setting& rs) {
    std::string mode;
    std::string percent;
    YAML::Node mode_node = v;
    if (v.IsScalar()) {
      mode = v.Scalar();
    } else if (r_.is_map(v, "a route setting")) {
      r_.check_keys(v, {"mode", "percent"}, "a route setting");
      r_.string_field(v, "mode", mode);
      if (v["mode"]) mode_node.reset(v["mode"]);  // reset rebinds; '=' would overwrite v itself
      if (auto pn = v["percent"]; pn && r_.scalar(pn, "percent", percent) && !proxy::parse_percent(percent, rs.percent_bp))
        err(pn, "percent must be a number from 0 to 100 (at most two decimals), got '" + percent + "'");
    } else {
      return;
    }
    if (!proxy::parse_mode(mode, rs.mode)) {
      err(mode_node, "unknown mode '" + mode + "' (monolith, shadow, canary or service)" +
                         hint(mode, {"monolith", "shadow", "canary", "service"}));
      return;
    }
    if (rs.mode == proxy::route_mode::canary && percent.empty())
      err(v, "route '" + rs.route_id + "' is canary in stage '" + stage_name + "' but has no percent");
    if (rs.mode != proxy::route_mode::canary && !percent.empty())
      err(v["percent"], "percent applies to canary only; route '" + rs.route_id + "' is " +
                            std::string(proxy::to_string(rs.mode)) + " here");
    if (rs.mode == proxy::route_mode::service) rs.percent_bp = 10'000;
  }

  void read_gates(const YAML::Node& g, stage& s) {
    if (!r_.is_map(g, "gates")) return;
    s.gate.at = at(g);
    r_.check_keys(g, {"min_requests", "min_duration", "parity", "error_rate", "p99_ratio", "sync_lag", "foreign_writes",
                      "no_traffic"},
                  "gates");
    std::string text;
    if (auto n = g["min_requests"]; n && r_.scalar(n, "min_requests", text)) {
      std::uint64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) err(n, "min_requests must be a whole number, got '" + text + "'");
      else s.gate.min_requests = v;
    }
    if (auto n = g["min_duration"]) {
      std::chrono::milliseconds d{};
      r_.duration_field(g, "min_duration", d);
      s.gate.min_duration = d;
    }
    auto percent_gate = [&](const char* key, std::optional<double>& out) {
      if (auto n = g[key]; n && r_.scalar(n, key, text)) {
        double v = 0;
        if (!parse_percent_value(text, v)) err(n, std::string(key) + " must be a percentage such as 99.5%, got '" + text + "'");
        else if (v < 0 || v > 100) err(n, std::string(key) + " of " + text + " can never be met: a percentage is 0 to 100");
        else out = v;
      }
    };
    percent_gate("parity", s.gate.parity_percent);
    percent_gate("error_rate", s.gate.error_rate_percent);
    if (auto n = g["p99_ratio"]; n && r_.scalar(n, "p99_ratio", text)) {
      double v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) err(n, "p99_ratio must be a number such as 1.5, got '" + text + "'");
      else if (v <= 0) err(n, "p99_ratio of " + text + " can never be met: latency is never below zero");
      else s.gate.p99_ratio = v;
    }
    // sync_lag: 5s (the oldest unapplied change at most 5 s old), or {events: 100, seconds: 5s}.
    if (auto n = g["sync_lag"]) {
      gates::sync_lag_bound bound;
      if (n.IsMap()) {
        r_.check_keys(n, {"events", "seconds"}, "sync_lag");
        if (auto e = n["events"]; e && r_.scalar(e, "sync_lag.events", text)) {
          std::int64_t v = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc() || end != text.data() + text.size() || v < 0)
            err(e, "sync_lag.events must be a whole number of events, got '" + text + "'");
          else bound.events = v;
        }
        if (n["seconds"]) {
          std::chrono::milliseconds d{};
          r_.duration_field(n, "seconds", d);
          bound.age = d;
        }
        if (!n["events"] && !n["seconds"]) err(n, "sync_lag needs events, seconds or both");
      } else if (r_.scalar(n, "sync_lag", text)) {
        std::chrono::milliseconds d{};
        if (!parse_duration(text, d)) err(n, "sync_lag must be a duration such as 5s, or {events: N, seconds: D}, got '" + text + "'");
        else bound.age = d;
      }
      s.gate.sync_lag = bound;
    }
    if (auto n = g["foreign_writes"]; n && r_.scalar(n, "foreign_writes", text)) {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || v < 0)
        err(n, "foreign_writes must be a whole number of changes (0: none allowed), got '" + text + "'");
      else s.gate.foreign_writes = v;
    }
    if (auto n = g["no_traffic"]; n && r_.scalar(n, "no_traffic", text)) {
      if (text == "wait") s.gate.no_traffic = no_traffic_policy::wait;
      else if (text == "pass") s.gate.no_traffic = no_traffic_policy::pass;
      else if (text == "fail") s.gate.no_traffic = no_traffic_policy::fail;
      else err(n, "no_traffic must be wait, pass or fail, got '" + text + "'" + hint(text, {"wait", "pass", "fail"}));
    }
  }

  void read_rollback(const YAML::Node& n, plan& p) {
    if (!n) return;
    if (!r_.is_map(n, "rollback")) return;
    p.rollback.at = at(n);
    // Not "on": YAML 1.1 tools read that key as the boolean true.
    r_.check_keys(n, {"on_breach", "to"}, "rollback");
    r_.string_field(n, "to", p.rollback.to);
    read_list(n["on_breach"], "rollback.on_breach", p.rollback.on);
    const std::vector<std::string_view> gate_names{"parity", "error_rate", "p99_ratio", "sync_lag", "foreign_writes"};
    for (std::size_t i = 0; i < p.rollback.on.size(); ++i)
      if (std::find(gate_names.begin(), gate_names.end(), p.rollback.on[i]) == gate_names.end())
        err(n["on_breach"][i], "rollback.on_breach names gates: parity, error_rate, p99_ratio, sync_lag or foreign_writes, not '" + p.rollback.on[i] + "'" +
                            hint(p.rollback.on[i], gate_names));
    const auto stages = names_of(p.stages, &stage::name);
    if (!p.rollback.to.empty() && std::find(stages.begin(), stages.end(), p.rollback.to) == stages.end())
      err(n["to"], "rollback.to names unknown stage '" + p.rollback.to + "'" + hint(p.rollback.to, stages));
    if (!p.rollback.on.empty() && p.rollback.to.empty()) err(n, "rollback.on_breach needs rollback.to: the stage to go back to");
  }

  // Across stages: shares only grow, gates can be met, and canaries come after a shadow.
  void check_progression(const plan& p) {
    std::map<std::string, std::pair<std::uint32_t, std::string>> share;  // route → (share, stage that set it)
    std::set<std::string> shadowed, warned;  // warn once per route
    for (const auto& s : p.stages) {
      for (const auto& rs : s.routes) {
        const auto now = service_share(rs.mode, rs.percent_bp);
        if (auto it = share.find(rs.route_id); it != share.end() && now < it->second.first)
          diags_.error(file_, rs.at.line, rs.at.column,
                       "route '" + rs.route_id + "' goes down from " + proxy::percent_text(it->second.first) +
                           "% in stage '" + it->second.second + "' to " + proxy::percent_text(now) + "% in stage '" +
                           s.name + "' (stages only move users to the service; rollback moves them back)");
        share[rs.route_id] = {now, s.name};
        if (rs.mode == proxy::route_mode::shadow) shadowed.insert(rs.route_id);
        if ((rs.mode == proxy::route_mode::canary || rs.mode == proxy::route_mode::service) &&
            !shadowed.contains(rs.route_id) && warned.insert(rs.route_id).second)
          diags_.warning(file_, rs.at.line, rs.at.column,
                         "route '" + rs.route_id + "' reaches " + std::string(proxy::to_string(rs.mode)) + " in stage '" +
                             s.name + "' without a shadow stage before it: nothing has compared its answers yet");
      }
      // Evidence a stage's gates need must be collectable in that stage.
      bool any_shadow = false, any_service_traffic = false;
      for (const auto& r : p.routes_at(s)) {
        any_shadow = any_shadow || r.mode == proxy::route_mode::shadow;
        any_service_traffic = any_service_traffic || r.mode != proxy::route_mode::monolith;
      }
      const position g = s.gate.at.line ? s.gate.at : s.at;
      if (s.gate.parity_percent && !any_shadow)
        diags_.error(file_, g.line, g.column,
                     "stage '" + s.name + "': the parity gate can never pass: no route is in shadow mode in this stage");
      if ((s.gate.error_rate_percent || s.gate.p99_ratio) && !any_service_traffic)
        diags_.error(file_, g.line, g.column,
                     "stage '" + s.name + "': error_rate and p99_ratio gates can never pass: no route sends traffic to a service in this stage");
    }
  }

  void read_list(const YAML::Node& n, const char* what, std::vector<std::string>& out) {
    if (!n) return;
    if (!n.IsSequence()) {
      err(n, std::string(what) + " must be a list");
      return;
    }
    for (const auto& item : n) {
      std::string text;
      if (r_.scalar(item, what, text)) out.push_back(text);
    }
  }

  position find_route(const plan& p, const std::string& id) {
    for (const auto& d : p.routes)
      if (d.route.id == id) return d.at;
    return {1, 1};
  }

  void err(const YAML::Node& n, const std::string& message) {
    if (n) r_.error(n, message);
    else diags_.error(file_, 1, 1, message);
  }

  std::string file_;
  diagnostics& diags_;
  yaml_reader r_;
};

}  // namespace

bool parse_plan(const std::string& text, const std::string& name, plan& out, diagnostics& diags) {
  YAML::Node root;
  if (!load_yaml(text, name, root, diags)) return false;
  read_guarded(name, diags, [&] {
    plan_reader(name, diags).read(root, out);
    return true;
  });
  return !diags.has_errors();
}

bool expand_environment(std::string& text, const std::string& name, diagnostics& diags) {
  std::string out;
  out.reserve(text.size());
  int line = 1, column = 1;
  bool ok = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      column += 2;
      continue;
    }
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const std::size_t close = text.find_first_of("}\n", i + 2);
      if (close == std::string::npos || text[close] != '}') {
        diags.error(name, line, column, "unterminated ${ (write $$ for a literal '$')");
        ok = false;
        out.push_back(c);
        ++column;
        continue;
      }
      const std::string inside = text.substr(i + 2, close - i - 2);
      const std::size_t dash = inside.find(":-");
      const std::string var = inside.substr(0, dash);
      bool valid_name = !var.empty() && !(var[0] >= '0' && var[0] <= '9');
      for (char v : var) valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(v)) || v == '_');
      if (!valid_name) {
        diags.error(name, line, column, "'${" + inside + "}': a variable name is letters, digits and '_'");
        ok = false;
      } else if (const char* value = std::getenv(var.c_str()); value && *value) {
        out += value;
      } else if (dash != std::string::npos) {
        out += inside.substr(dash + 2);
      } else {
        diags.error(name, line, column, "environment variable " + var + " is not set (give it a default: ${" + var + ":-VALUE})");
        ok = false;
      }
      column += static_cast<int>(close - i + 1);
      i = close;
      continue;
    }
    out.push_back(c);
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  if (ok) text = std::move(out);
  return ok;
}

bool load_plan(const std::string& path, plan& out, diagnostics& diags, std::string* document) {
  std::string text;
  if (!read_text_file(path, text, diags) || !expand_environment(text, path, diags)) return false;
  const bool ok = parse_plan(text, path, out, diags);
  if (document) *document = std::move(text);
  return ok;
}

}  // namespace banyan::plan
