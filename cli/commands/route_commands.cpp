#include "commands/route_commands.hpp"

#include "commands/cutover_text.hpp"
#include "commands/fleet_commands.hpp"
#include "commands/route_define_commands.hpp"

#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/route_json.hpp"
#include "banyan/report/render.hpp"
#include "commands/admin_client.hpp"
#include "commands/validators.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <iomanip>
#include <map>
#include <memory>

namespace banyan::cli {

namespace json = boost::json;

namespace {
// A route as the admin API returns it (its JSON has been validated by the proxy).
proxy::route to_route(const json::value& v) {
  proxy::route r;
  std::vector<std::string> problems;
  proxy::route_from_json(v, r, problems);
  return r;
}

// The share of users the route sends to its service.
std::string share_of(const proxy::route& r) {
  switch (r.mode) {
    case proxy::route_mode::service:
      return "100%";
    case proxy::route_mode::canary:
      return proxy::percent_text(r.percent_bp) + "%";
    case proxy::route_mode::shadow:
      return "0% (mirrored)";
    case proxy::route_mode::monolith:
      break;
  }
  return "0%";
}

std::string match_of(const proxy::route& r) {
  std::string methods;
  for (const auto& m : r.methods) methods += (methods.empty() ? "" : ",") + m;
  return (methods.empty() ? "*" : methods) + " " + r.path;
}
}  // namespace

std::string describe_setting(const proxy::route& r) {
  std::string s(proxy::to_string(r.mode));
  if (r.mode == proxy::route_mode::canary) s += " " + proxy::percent_text(r.percent_bp) + "%";
  return s;
}

namespace {
// Each route's shadow parity so far (over the report's default window), by route id.
std::map<std::string, json::value> parity_by_route(admin_client& admin) {
  std::map<std::string, json::value> out;
  const auto reply = admin.call("GET", "/api/v1/shadow/report?min_compared=1");
  if (reply.status != 200 || !reply.body.is_object()) return out;  // an older proxy, or no results
  for (const auto& r : reply.body.at("routes").as_array()) out[std::string(r.at("route").as_string())] = r.at("parity");
  return out;
}
}  // namespace

int run_routes(const global_options& global, std::ostream& out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto reply = admin.call("GET", "/api/v1/routes");
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      return reply.status == 401 ? exit_bad_input : exit_check_failed;
    }
    const auto parity = parity_by_route(admin);
    auto parity_text = [&](const std::string& id) -> std::string {
      const auto it = parity.find(id);
      if (it == parity.end() || it->second.at("percent").is_null()) return "—";
      return report::format_percent(it->second.at("percent")) + " of " +
             std::to_string(it->second.at("compared").to_number<std::int64_t>());
    };
    if (global.json()) {
      json::object o = reply.body.as_object();
      for (auto& r : o["routes"].as_array()) {
        const auto route = to_route(r);
        r.as_object()["share"] = share_of(route);
        const auto why = not_served_because(route, reply.body);
        r.as_object()["served_share"] = why.empty() ? share_of(route) : "0%";
        if (!why.empty()) r.as_object()["not_served"] = why;
        const auto it = parity.find(std::string(r.at("id").as_string()));
        r.as_object()["parity"] = it == parity.end() ? json::value() : it->second;
      }
      out << json::serialize(o) << '\n';
      return exit_ok;
    }
    const auto& routes = reply.body.at("routes").as_array();
    if (routes.empty()) {
      out << "no routes: everything goes to the monolith (routing version " << reply.body.at("version") << ")\n";
      return exit_ok;
    }
    out << std::left << std::setw(22) << "ROUTE" << std::setw(14) << "MODE" << std::setw(16) << "SERVICE SHARE"
        << std::setw(12) << "SERVICE" << std::setw(20) << "PARITY"
        << "MATCH\n";
    for (const auto& v : routes) {
      const auto r = to_route(v);
      const auto p = parity_text(r.id);
      // setw counts bytes; "—" is three of them but one column.
      const int parity_width = 20 + (p == "—" ? 2 : 0);
      out << std::setw(22) << r.id << std::setw(14) << describe_setting(r) << std::setw(16) << share_of(r)
          << std::setw(12) << r.service << std::setw(parity_width) << p << match_of(r) << '\n';
      if (const auto why = not_served_because(r, reply.body); !why.empty())
        out << "  ! " << r.id << ": " << why << ": the monolith serves its " << share_of(r) << " until it recovers\n";
    }
    print_write_owners(reply.body, out);
    if (const auto cutover = admin.call("GET", "/api/v1/cutover"); cutover.status == 200)
      print_cutover_state(cutover.body, out);
    print_fleet_lag(admin, out);
    out << "routing version " << reply.body.at("version") << "; unmatched requests go to the monolith\n";
    return exit_ok;
  });
}

namespace {
std::string joined_ids(const std::vector<std::string>& ids, const char* separator) {
  std::string s;
  for (const auto& id : ids) s += (s.empty() ? "" : separator) + id;
  return s;
}
}  // namespace

int run_route_set(const route_set_options& options, const global_options& global, std::ostream& out,
                  std::ostream& err) {
  const auto routes = joined_ids(options.routes, " ");
  // As in plans: a canary without its share would keep whatever share the route had.
  if (options.mode == "canary" && !options.percent) {
    err << "banyan: route set " << routes << " canary needs --percent (0-100)\n";
    return exit_bad_input;
  }
  json::array ids;
  for (const auto& id : options.routes) ids.push_back(json::string(id));
  json::object body{{"routes", std::move(ids)}, {"mode", options.mode}, {"reason", options.reason}};
  if (options.percent) body["percent"] = *options.percent;
  const json::value payload = body;
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto before = admin.call("GET", "/api/v1/routes");
    std::map<std::string, std::string> was;
    if (before.status == 200)
      for (const auto& r : before.body.at("routes").as_array()) was[std::string(r.at("id").as_string())] = describe_setting(to_route(r));
    const auto reply = admin.call("POST", "/api/v1/routes/mode", &payload);
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      if (reply.status == 409 || reply.status == 503) {  // the write cut-over gave up; the state store failed
        if (const auto* o = reply.body.if_object(); o && o->contains("cutover")) print_cutover(o->at("cutover"), err);
        return exit_check_failed;
      }
      return exit_bad_input;  // unknown route, bad mode or percent, writes left on two owners, no token
    }
    const bool changed = reply.body.at("changed").as_bool();
    if (global.json()) {
      out << json::serialize(reply.body) << '\n';
    } else {
      for (const auto& id : options.routes) {
        std::string now;
        for (const auto& r : reply.body.at("routing").at("routes").as_array())
          if (r.at("id").as_string() == id) now = describe_setting(to_route(r));
        out << "route " << id << ": " << (changed && was[id] != now ? was[id] + " → " + now : "already " + now)
            << '\n';
      }
      if (!changed) out << "nothing changed\n";
      if (const auto* cutover = reply.body.as_object().if_contains("cutover")) print_cutover(*cutover, out);
    }
    return exit_ok;
  });
}

void setup_routes(CLI::App& app, const global_options& global, int& result) {
  auto* routes = app.add_subcommand("routes", "Every route: mode, share of traffic on the service, match");
  routes->footer("Example:\n  banyan routes --admin http://127.0.0.1:9901 --token-file banyan-state/admin.token");
  routes->callback([&global, &result] { result = run_routes(global, std::cout, std::cerr); });

  auto* route = app.add_subcommand("route", "Change one route");
  route->require_subcommand(1);
  auto opts = std::make_shared<route_set_options>();
  auto* set = route->add_subcommand(
      "set", "Set the mode (and canary percent) of one or more routes in one change; audited with the reason");
  // One positional list, split here: CLI11 cannot leave the last word of a list to another positional.
  set->add_option("ROUTE... MODE", opts->words, "route ids, then monolith, shadow, canary or service")
      ->required()
      ->expected(2, -1);
  set->add_option("--percent", opts->percent, "canary share, 0-100 (required for canary)")->check(between(0, 100));
  set->add_option("--reason", opts->reason, "why, for the audit log");
  set->footer(
      "Examples:\n  banyan route set product-detail canary --percent 5 --reason \"first users\"\n"
      "  banyan route set product-create product-change service   (a dataset's writes move together)");
  set->callback([opts, &global, &result] {
    opts->mode = opts->words.back();
    opts->routes.assign(opts->words.begin(), opts->words.end() - 1);
    static const std::vector<std::string> modes{"monolith", "shadow", "canary", "service"};
    if (std::find(modes.begin(), modes.end(), opts->mode) == modes.end()) {
      std::cerr << "banyan: route set: the last word must be the mode (monolith, shadow, canary or service), not '"
                << opts->mode << "'\n";
      result = exit_bad_input;
      return;
    }
    result = run_route_set(*opts, global, std::cout, std::cerr);
  });
  setup_route_define(*route, global, result);
}

std::string not_served_because(const proxy::route& r, const json::value& reply) {
  if (!reply.is_object()) return {};
  if (r.service.empty() || (r.mode != proxy::route_mode::service && r.mode != proxy::route_mode::canary)) return {};
  const auto* all = reply.as_object().if_contains("service_health");
  const auto* h = all && all->is_object() ? all->as_object().if_contains(r.service) : nullptr;
  if (!h || !h->is_object()) return {};
  const auto& o = h->as_object();
  if (const auto* healthy = o.if_contains("healthy"); healthy && healthy->is_bool() && !healthy->as_bool())
    return "service unhealthy";
  if (const auto* c = o.if_contains("circuit"); c && c->is_string() && c->as_string() == "open") return "circuit open";
  return {};
}

}  // namespace banyan::cli
