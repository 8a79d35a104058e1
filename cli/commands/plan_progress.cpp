#include "commands/plan_progress.hpp"

#include "commands/cutover_text.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/proxy/route_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace banyan::cli {

namespace json = boost::json;

std::optional<json::value> live_routing(admin_client& admin, std::ostream& err) {
  auto reply = admin.call("GET", "/api/v1/routes");
  if (reply.status == 200) return std::move(reply.body);
  err << "banyan: " << error_text(reply) << '\n';
  return std::nullopt;
}

int load_applied_plan(admin_client& admin, applied_plan& out, std::ostream& err) {
  const auto progress = admin.call("GET", "/api/v1/plan");
  if (progress.status == 404) {
    err << "banyan: no plan is in progress (banyan plan apply FILE starts one)\n";
    return exit_check_failed;
  }
  if (progress.status != 200 || !progress.body.is_object()) {
    err << "banyan: " << error_text(progress) << '\n';
    return progress.status == 401 ? exit_bad_input : exit_check_failed;
  }
  const auto& o = progress.body.as_object();
  out.document = std::string(o.at("document").as_string());
  out.stage = std::string(o.at("stage").as_string());
  diagnostics diags;
  if (!plan::parse_plan(out.document, "the applied plan", out.plan, diags)) {
    err << diags.to_string();
    return exit_bad_input;
  }
  if (!parse_rfc3339(o.at("stage_entered_at").as_string(), out.stage_entered_at))
    out.stage_entered_at = std::chrono::system_clock::now();
  if (!out.current()) {
    err << "banyan: the applied plan has no stage '" << out.stage << "'\n";
    return exit_bad_input;
  }
  return exit_ok;
}

namespace {
// The routing a stage asks for: the live routes the plan does not name stay as they are, the plan's
// routes take the stage's settings, and the plan's services are added or updated.
json::object stage_routing(const plan::plan& p, const plan::stage& s, const json::value& live) {
  std::set<std::string> named;
  for (const auto& d : p.routes) named.insert(d.route.id);
  json::array routes;
  for (const auto& r : live.at("routes").as_array())
    if (!named.contains(std::string(r.at("id").as_string()))) routes.push_back(r);
  for (const auto& r : p.routes_at(s)) routes.push_back(proxy::route_to_json(r));
  json::object services = live.at("services").as_object();
  for (const auto& svc : p.services) services[svc.name] = svc.url;
  return {{"routes", std::move(routes)}, {"services", std::move(services)}};
}
}  // namespace

int put_plan(admin_client& admin, const stage_change& c, const global_options& global, std::ostream& out,
             std::ostream& err) {
  json::object body = stage_routing(c.plan, c.stage, c.live);
  body["name"] = c.plan.name;
  body["document"] = c.document;
  body["stage"] = c.stage.name;
  body["reason"] = c.reason;
  body["force"] = c.force;
  body["action"] = c.action;
  if (!c.from_stage.empty()) body["from_stage"] = c.from_stage;
  const json::value payload = body;
  const auto reply = admin.call("PUT", "/api/v1/plan", &payload);
  if (reply.status == 409) {
    err << "banyan: refused: " << error_text(reply).substr(std::string("the proxy answered 409: ").size()) << '\n';
    if (const auto* o = reply.body.if_object(); o && o->contains("cutover")) print_cutover(o->at("cutover"), err);
    return exit_check_failed;
  }
  if (reply.status != 200) {
    err << "banyan: " << error_text(reply) << '\n';
    return reply.status == 503 ? exit_check_failed : exit_bad_input;
  }
  const bool changed = reply.body.at("changed").as_bool();
  if (global.json()) out << json::serialize(reply.body) << '\n';
  else if (!changed) out << "plan " << c.plan.name << " is already at stage " << c.stage.name << ": nothing changed\n";
  else if (c.action == "rollback") out << "plan " << c.plan.name << ": rolled back to stage " << c.stage.name << '\n';
  else if (c.action == "advance") out << "plan " << c.plan.name << ": advanced to stage " << c.stage.name << '\n';
  else out << "plan " << c.plan.name << ": now at stage " << c.stage.name << '\n';
  if (!global.json())
    if (const auto* cutover = reply.body.as_object().if_contains("cutover")) print_cutover(*cutover, out);
  return exit_ok;
}

}  // namespace banyan::cli
