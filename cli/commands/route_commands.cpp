#include "commands/route_commands.hpp"

#include "commands/admin_client.hpp"

#include <boost/json/serialize.hpp>

#include <iomanip>
#include <memory>

namespace banyan::cli {

namespace json = boost::json;

namespace {
double percent_of(const json::value& route) {
  const auto& p = route.at("percent");
  return p.is_double() ? p.as_double() : static_cast<double>(p.to_number<std::int64_t>());
}

std::string percent_string(double p) {
  std::ostringstream s;
  s << p << '%';
  return s.str();
}

// The share of users the route sends to its service.
std::string share_of(const json::value& route) {
  const auto mode = route.at("mode").as_string();
  if (mode == "service") return "100%";
  if (mode == "canary") return percent_string(percent_of(route));
  if (mode == "shadow") return "0% (mirrored)";
  return "0%";
}

std::string match_of(const json::value& route) {
  std::string methods;
  for (const auto& m : route.at("match").at("methods").as_array()) methods += (methods.empty() ? "" : ",") + std::string(m.as_string());
  return (methods.empty() ? "*" : methods) + " " + std::string(route.at("match").at("path").as_string());
}
}  // namespace

std::string describe_setting(const json::value& route) {
  std::string s(route.at("mode").as_string());
  if (s == "canary") s += " " + percent_string(percent_of(route));
  return s;
}

int run_routes(const global_options& global, std::ostream& out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto reply = admin.call("GET", "/api/v1/routes");
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      return reply.status == 401 ? exit_bad_input : exit_check_failed;
    }
    if (global.json()) {
      json::object o = reply.body.as_object();
      for (auto& r : o["routes"].as_array()) r.as_object()["share"] = share_of(r);
      out << json::serialize(o) << '\n';
      return exit_ok;
    }
    const auto& routes = reply.body.at("routes").as_array();
    if (routes.empty()) {
      out << "no routes: everything goes to the monolith (routing version " << reply.body.at("version") << ")\n";
      return exit_ok;
    }
    out << std::left << std::setw(22) << "ROUTE" << std::setw(14) << "MODE" << std::setw(16) << "SERVICE SHARE"
        << std::setw(12) << "SERVICE" << "MATCH\n";
    for (const auto& r : routes)
      out << std::setw(22) << std::string(r.at("id").as_string()) << std::setw(14) << describe_setting(r) << std::setw(16)
          << share_of(r) << std::setw(12) << std::string(r.at("service").as_string()) << match_of(r) << '\n';
    out << "routing version " << reply.body.at("version") << "; unmatched requests go to the monolith\n";
    return exit_ok;
  });
}

int run_route_set(const route_set_options& options, const global_options& global, std::ostream& out, std::ostream& err) {
  json::object body{{"mode", options.mode}, {"reason", options.reason}};
  if (options.percent) body["percent"] = *options.percent;
  const json::value payload = body;
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto before = admin.call("GET", "/api/v1/routes");
    std::string was;
    if (before.status == 200)
      for (const auto& r : before.body.at("routes").as_array())
        if (r.at("id").as_string() == options.route) was = describe_setting(r);
    const auto reply = admin.call("POST", "/api/v1/routes/" + options.route + "/mode", &payload);
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      return exit_bad_input;  // unknown route, bad mode or percent, no token
    }
    const bool changed = reply.body.at("changed").as_bool();
    if (global.json()) {
      out << json::serialize(reply.body) << '\n';
    } else {
      std::string now;
      for (const auto& r : reply.body.at("routing").at("routes").as_array())
        if (r.at("id").as_string() == options.route) now = describe_setting(r);
      out << "route " << options.route << ": " << (changed ? was + " → " + now : "already " + now + ", nothing changed")
          << '\n';
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
  auto* set = route->add_subcommand("set", "Set a route's mode (and canary percent); audited with the reason");
  set->add_option("ROUTE", opts->route, "route id")->required();
  set->add_option("MODE", opts->mode, "monolith, shadow, canary or service")
      ->required()
      ->check(CLI::IsMember({"monolith", "shadow", "canary", "service"}));
  set->add_option("--percent", opts->percent, "canary share, 0-100")->check(CLI::Range(0.0, 100.0));
  set->add_option("--reason", opts->reason, "why, for the audit log");
  set->footer("Example:\n  banyan route set product-detail canary --percent 5 --reason \"first users\"");
  set->callback([opts, &global, &result] { result = run_route_set(*opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
