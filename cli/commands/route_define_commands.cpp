#include "commands/route_define_commands.hpp"

#include "commands/admin_client.hpp"
#include "commands/cutover_text.hpp"
#include "commands/route_commands.hpp"
#include "commands/validators.hpp"

#include "banyan/platform/ascii.hpp"
#include "banyan/proxy/route_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>
#include <map>

namespace banyan::cli {

namespace json = boost::json;

namespace {

// The options' settings onto `r`, as a patch over the route's JSON read back by route_from_json:
// the CLI accepts exactly what the admin API and plans accept (percents with at most two
// decimals, the same modes and write policies), in their words. What is wrong goes to `problems`.
void apply_settings(const route_define_options& o, proxy::route& r, std::vector<std::string>& problems) {
  json::object j = proxy::route_to_json(r);
  auto& match = j["match"].as_object();
  if (!o.path.empty()) match["path"] = o.path;
  if (!o.methods.empty()) {
    json::array methods;
    for (const auto& m : o.methods) methods.emplace_back(ascii_uppered(m));
    match["methods"] = std::move(methods);
  }
  if (!o.service.empty()) j["service"] = o.service;
  if (!o.mode.empty()) j["mode"] = o.mode;
  const bool canary = j["mode"] == "canary";
  if (o.percent) {
    if (!canary) problems.push_back("--percent applies to canary only");
    else j["percent"] = *o.percent;
  } else if (!o.mode.empty() && canary) {
    problems.push_back("a canary needs its share: give --percent (0-100)");
  } else if (!o.mode.empty()) {
    j["percent"] = j["mode"] == "service" ? 100 : 0;
  }
  if (!o.canary_key.empty()) {  // the CLI's spelling of the key, header:NAME or cookie:NAME
    const auto colon = o.canary_key.find(':');
    const auto kind = o.canary_key.substr(0, colon);
    const auto name = colon == std::string::npos ? std::string() : o.canary_key.substr(colon + 1);
    if (o.canary_key == "client_address") j["canary_key"] = "client_address";
    else if ((kind == "header" || kind == "cookie") && !name.empty()) j["canary_key"] = json::object{{kind, name}};
    else problems.push_back("--canary-key: expected header:NAME, cookie:NAME or client_address, got '" + o.canary_key + "'");
  }
  if (!j.contains("shadow")) j["shadow"] = json::object{};
  auto& shadow = j["shadow"].as_object();
  if (o.sample) shadow["sample"] = *o.sample;
  if (o.consistent) shadow["consistent"] = *o.consistent;
  if (!o.writes.empty()) j["writes"] = o.writes;
  if (!j.contains("compare")) j["compare"] = json::object{};
  auto& compare = j["compare"].as_object();
  if (o.ignore) {
    json::array ignore;
    for (const auto& p : *o.ignore) ignore.emplace_back(p);
    compare["ignore"] = std::move(ignore);
  }
  if (o.version) compare["version"] = *o.version;
  if (o.tolerance) compare["tolerance"] = *o.tolerance;
  proxy::route patched;
  if (proxy::route_from_json(j, patched, problems)) r = std::move(patched);
}

using edit_fn = std::function<bool(std::vector<proxy::route>&, std::map<std::string, std::string>&,
                                   std::vector<std::string>& problems)>;

// GET the live routing, edit it, PUT it back with the reason; prints the outcome.
int change_routing(const global_options& global, const std::string& route_id, const std::string& verb,
                   const std::string& reason, const edit_fn& edit, std::ostream& out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto live = admin.call("GET", "/api/v1/routes");
    if (live.status != 200 || !live.body.is_object()) {
      err << "banyan: " << error_text(live) << '\n';
      return live.status == 401 ? exit_bad_input : exit_check_failed;
    }
    std::vector<proxy::route> routes;
    std::vector<std::string> problems;
    for (const auto& v : live.body.at("routes").as_array()) {
      proxy::route r;
      if (proxy::route_from_json(v, r, problems)) routes.push_back(std::move(r));
    }
    std::map<std::string, std::string> services;
    for (const auto& kv : live.body.at("services").as_object())
      services[std::string(kv.key())] = std::string(kv.value().as_string());
    if (!edit(routes, services, problems) || !problems.empty()) {
      for (const auto& p : problems) err << "banyan: route " << route_id << ": " << p << '\n';
      return exit_bad_input;
    }
    json::array list;
    for (const auto& r : routes) list.push_back(proxy::route_to_json(r));
    json::object svc;
    for (const auto& [name, url] : services) svc[name] = url;
    const json::value body = json::object{{"routes", std::move(list)}, {"services", std::move(svc)}, {"reason", reason}};
    const auto reply = admin.call("PUT", "/api/v1/routes", &body);
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      if (const auto* o = reply.body.if_object(); o && o->contains("cutover")) print_cutover(o->at("cutover"), err);
      return reply.status == 409 || reply.status == 503 ? exit_check_failed : exit_bad_input;
    }
    if (global.json()) {
      out << json::serialize(reply.body) << '\n';
      return exit_ok;
    }
    if (!reply.body.at("changed").as_bool()) {
      out << "route " << route_id << ": nothing changed\n";
      return exit_ok;
    }
    out << "route " << route_id << " " << verb;
    for (const auto& v : reply.body.at("routing").at("routes").as_array())
      if (v.at("id").as_string() == route_id) {
        proxy::route r;
        std::vector<std::string> ignored;
        if (proxy::route_from_json(v, r, ignored))
          out << ": " << describe_setting(r) << ", " << (r.methods.empty() ? std::string("any method") : [&] {
            std::string m;
            for (const auto& x : r.methods) m += (m.empty() ? "" : ",") + x;
            return m;
          }()) << " " << r.path << (r.service.empty() ? "" : " → " + r.service);
      }
    out << '\n';
    if (const auto* cutover = reply.body.as_object().if_contains("cutover")) print_cutover(*cutover, out);
    return exit_ok;
  });
}

auto find_route(std::vector<proxy::route>& routes, const std::string& id) {
  return std::find_if(routes.begin(), routes.end(), [&](const proxy::route& r) { return r.id == id; });
}

}  // namespace

int run_route_add(const route_define_options& o, const global_options& global, std::ostream& out, std::ostream& err) {
  if (o.path.empty() || o.service.empty()) {
    err << "banyan: route add " << o.route << " needs --path and --service\n";
    return exit_bad_input;
  }
  return change_routing(global, o.route, "added", o.reason, [&](auto& routes, auto& services, auto& problems) {
    if (find_route(routes, o.route) != routes.end()) {
      problems.push_back("already exists (banyan route edit changes it)");
      return false;
    }
    proxy::route r;
    r.id = o.route;
    r.mode = proxy::route_mode::shadow;  // a new route starts by watching, unless told otherwise
    apply_settings(o, r, problems);
    if (!o.url.empty()) services[o.service] = o.url;
    else if (!services.contains(o.service))
      problems.push_back("service '" + o.service + "' is not in the routing: give its --url");
    routes.push_back(std::move(r));
    return true;
  }, out, err);
}

int run_route_edit(const route_define_options& o, const global_options& global, std::ostream& out, std::ostream& err) {
  return change_routing(global, o.route, "changed", o.reason, [&](auto& routes, auto& services, auto& problems) {
    const auto it = find_route(routes, o.route);
    if (it == routes.end()) {
      problems.push_back("no such route (banyan route add defines one)");
      return false;
    }
    apply_settings(o, *it, problems);
    if (!o.url.empty()) services[it->service] = o.url;
    return true;
  }, out, err);
}

int run_route_remove(const route_define_options& o, const global_options& global, std::ostream& out,
                     std::ostream& err) {
  return change_routing(global, o.route, "removed (its requests go to the monolith)", o.reason,
                        [&](auto& routes, auto&, auto& problems) {
                          const auto it = find_route(routes, o.route);
                          if (it == routes.end()) {
                            problems.push_back("no such route");
                            return false;
                          }
                          routes.erase(it);
                          return true;
                        },
                        out, err);
}

void setup_route_define(CLI::App& route, const global_options& global, int& result) {
  auto add_settings = [](CLI::App* cmd, const std::shared_ptr<route_define_options>& o) {
    cmd->add_option("ROUTE", o->route, "route id")->required();
    cmd->add_option("--path", o->path, "path pattern, e.g. /api/products/{id} or /api/**");
    cmd->add_option("--method", o->methods, "a method it matches (repeatable; none: every method)");
    cmd->add_option("--service", o->service, "the extracted service's name");
    cmd->add_option("--url", o->url, "the service's URL, when the routing does not know it yet");
    cmd->add_option("--mode", o->mode, "monolith, shadow, canary or service (add: default shadow)");
    cmd->add_option("--percent", o->percent, "canary share, 0-100 (required for canary)")->check(between(0, 100));
    cmd->add_option("--canary-key", o->canary_key, "header:NAME, cookie:NAME or client_address");
    cmd->add_option("--sample", o->sample, "share of requests shadowed, 0-100")->check(between(0, 100));
    cmd->add_option("--consistent", o->consistent, "sample by the canary key (true/false)");
    cmd->add_option("--writes", o->writes, "skip or dry-run: how writes are shadowed");
    cmd->add_option("--ignore", o->ignore, "a JSON path the comparison ignores (repeatable; replaces the list)");
    cmd->add_option("--version-field", o->version, "compare.version: the member naming an object's version (updated_at)");
    cmd->add_option("--tolerance", o->tolerance, "numbers this close compare equal")->check(between(0, 1e12));
    cmd->add_option("--reason", o->reason, "why, for the audit log");
  };
  auto add_opts = std::make_shared<route_define_options>();
  auto* add = route.add_subcommand("add", "Define a route in the live routing (shadow mode unless --mode says)");
  add_settings(add, add_opts);
  add->footer("Example:\n  banyan route add product-detail --path '/api/products/{id}' --method GET --method HEAD \\\n"
              "    --service catalog --url http://127.0.0.1:8082 --ignore '$.generated_at' --version-field updated_at");
  add->callback([add_opts, &global, &result] { result = run_route_add(*add_opts, global, std::cout, std::cerr); });

  auto edit_opts = std::make_shared<route_define_options>();
  auto* edit = route.add_subcommand("edit", "Change a live route's match, service or shadow and compare settings");
  add_settings(edit, edit_opts);
  edit->footer("Example:\n  banyan route edit product-list --ignore '$.generated_at' --ignore '$.request_id' --reason noise");
  edit->callback([edit_opts, &global, &result] { result = run_route_edit(*edit_opts, global, std::cout, std::cerr); });

  auto remove_opts = std::make_shared<route_define_options>();
  auto* remove = route.add_subcommand("remove", "Remove a route: its requests go to the monolith");
  remove->add_option("ROUTE", remove_opts->route, "route id")->required();
  remove->add_option("--reason", remove_opts->reason, "why, for the audit log");
  remove->callback(
      [remove_opts, &global, &result] { result = run_route_remove(*remove_opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
