// The admin API's changes: every routing change (routes, one route's mode, a plan's stage) is
// validated, goes through the write cut-over barrier when it moves writes, and is saved with its
// audit entry before it goes live (apply). Reads are in admin_api.cpp.
#include "banyan/proxy/admin_api.hpp"

#include "banyan/proxy/route_json.hpp"
#include "routing_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace banyan::proxy {

namespace json = boost::json;

namespace {

std::string operator_of(const http::request& req) {
  const auto* h = req.header("X-Banyan-Operator");
  if (!h || h->empty() || h->size() > 64) return "unknown";
  for (char c : *h)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "unknown";
  return *h;
}

// A string member of a request body; empty when absent or not a string.
std::string text_of(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string reason_of(const json::object& body) { return text_of(body, "reason"); }

bool parse_services(const json::object& body, std::map<std::string, std::string>& out,
                    std::vector<std::string>& problems) {
  const auto* s = body.if_contains("services");
  if (!s) return true;
  if (!s->is_object()) {
    problems.push_back("services must be an object of name → URL");
    return false;
  }
  out.clear();
  for (const auto& kv : s->as_object()) {
    if (!kv.value().is_string()) problems.push_back("services." + std::string(kv.key()) + " must be a URL string");
    else out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return problems.empty();
}

// The body's "routes" array; every problem is collected, prefixed with the route's index.
bool parse_routes(const json::object& body, std::vector<route>& out, std::vector<std::string>& problems) {
  const auto* list = body.if_contains("routes");
  if (!list || !list->is_array()) {
    problems.push_back("routes must be an array");
    return false;
  }
  for (std::size_t i = 0; i < list->as_array().size(); ++i) {
    route r;
    std::vector<std::string> route_problems;
    if (!route_from_json(list->as_array()[i], r, route_problems))
      for (const auto& p : route_problems) problems.push_back("routes[" + std::to_string(i) + "]: " + p);
    out.push_back(std::move(r));
  }
  return true;
}

http::response invalid(const std::vector<std::string>& problems) {
  json::array list;
  for (const auto& p : problems) list.push_back(json::string(p));
  return http::json_response(
      422, json::object{{"error", json::object{{"code", "invalid_routes"},
                                               {"message", problems.empty() ? "invalid" : problems.front()},
                                               {"problems", std::move(list)}}}});
}

}  // namespace

http::response admin_api::apply(const std::shared_ptr<const routing_snapshot>& current, std::vector<route> routes,
                                std::map<std::string, std::string> services, const http::request& req,
                                std::string action, std::string target, std::string reason,
                                const plan_progress* progress) {
  std::vector<route_error> errors;
  auto snap = ctx_.routing.prepare(routes, services, ctx_.monolith_url, errors);
  if (!snap) {
    std::vector<std::string> problems;
    for (const auto& e : errors) problems.push_back((e.route_id.empty() ? "" : "route '" + e.route_id + "': ") + e.message);
    return invalid(problems);
  }
  const json::object before = current ? routing_json(*current) : json::object{};
  json::object after = routing_json(*snap);
  after["version"] = before.contains("version") ? before.at("version").as_uint64() + 1 : 1;
  auto same = [&] {
    if (!current || before.at("routes") != after.at("routes") || before.at("services") != after.at("services"))
      return false;
    if (!progress) return true;
    const auto stored = ctx_.store.plan();
    return stored && stored->name == progress->name && stored->document == progress->document &&
           stored->stage == progress->stage;
  };
  if (same()) return http::json_response(200, json::object{{"changed", false}, {"routing", before}});
  // Writes change owner only through the barrier (cutover_barrier.hpp), and never split.
  std::vector<std::string> split;
  const auto moves = current && current->table ? write_owner_changes(current->table.get(), *snap->table, &split)
                                               : std::vector<write_move>{};
  if (auto refusal = refuse_split_writes(split, *snap)) return std::move(*refusal);
  if (auto refusal = refuse_divided_writes(moves, *snap)) return std::move(*refusal);
  const std::string audit_action = action, audit_target = target;
  audit_entry entry;
  entry.operator_name = operator_of(req);
  entry.token_id = token_id();
  entry.action = std::move(action);
  entry.target = std::move(target);
  entry.before = json::serialize(before);
  entry.after = json::serialize(after);
  entry.reason = std::move(reason);
  // Durable first: a change that is live was also saved, with its audit entry.
  std::string save_failure;
  bool conflict = false;  // another instance of the fleet changed the routing first
  auto go_live = [&](const cutover_result* barrier) {
    if (barrier) {  // the audit entry says how the writes moved
      after["cutover"] = to_json(*barrier);
      entry.after = json::serialize(after);
    }
    try {
      snap->state_revision =
          ctx_.store.save({routes, services, 0}, entry, progress, current ? current->state_revision : 0);
    } catch (const state_conflict& e) {
      save_failure = e.what();
      conflict = true;
      return false;
    } catch (const std::exception& e) {
      save_failure = std::string("cannot save state: ") + e.what();
      return false;
    }
    if (!ctx_.routing.commit(snap)) {
      // A fleet's watch installed this revision first: the same routing, under its number.
      if (const auto live = ctx_.routing.load(); live && live->state_revision == snap->state_revision)
        snap->version = live->version;
    }
    return true;
  };
  auto not_saved = [&] {
    if (conflict) return http::error_response(409, "routing_changed", "the change was not applied: " + save_failure);
    return http::error_response(503, "state_store_unavailable", "the change was not applied: " + save_failure);
  };
  if (moves.empty()) {
    if (!go_live(nullptr)) return not_saved();
    return http::json_response(200, json::object{{"changed", true}, {"routing", routing_json(*snap)}});
  }
  const auto result = cutover_.run(moves, *current, *snap, [&](const cutover_result& so_far, std::string& why) {
    const bool ok = go_live(&so_far);
    if (!ok) why = save_failure;
    return ok;
  });
  if (!result.switched) {
    if (!save_failure.empty()) return not_saved();
    return cutover_failed(req, audit_action, audit_target, *current, result);
  }
  return http::json_response(200, json::object{{"changed", true}, {"routing", routing_json(*snap)}, {"cutover", to_json(result)}});
}

std::string admin_api::feed_publisher(const std::string& service, const routing_snapshot& after) const {
  std::string why;
  if (const auto m = ctx_.routing.data_url("monolith", after); !m.empty() && publishes_feed(m, why)) return "the monolith";
  if (const auto s = ctx_.routing.data_url(service, after); !s.empty() && publishes_feed(s, why)) return service;
  return {};
}

std::optional<http::response> admin_api::refuse_split_writes(const std::vector<std::string>& split,
                                                             const routing_snapshot& after) const {
  std::vector<std::string> problems;
  for (const auto& id : split) {
    const route* r = after.table->find(id);
    if (!r) continue;
    const auto feed_owner = feed_publisher(r->service, after);
    if (feed_owner.empty()) continue;  // no data follows these writes: a canary may split them
    problems.push_back("route '" + id + "': a canary would split its writes between the monolith and '" + r->service +
                       "' while " + feed_owner +
                       " publishes a change feed; writes move whole (mode service or monolith, through the "
                       "cut-over barrier), or give the canary only the reads (methods: [GET, HEAD])");
  }
  if (problems.empty()) return std::nullopt;
  return invalid(problems);
}

std::optional<http::response> admin_api::refuse_divided_writes(const std::vector<write_move>& moves,
                                                               const routing_snapshot& after) const {
  std::vector<std::string> problems;
  for (const auto& d : writes_divided_by_route(*after.table, moves)) {
    const auto feed_owner = feed_publisher(d.service, after);
    if (feed_owner.empty()) continue;  // no data follows these writes: each route may move on its own
    auto list = [](const std::vector<std::string>& ids) {
      std::string s;
      for (const auto& id : ids) s += (s.empty() ? "" : ", ") + id;
      return s;
    };
    std::string all;
    for (const auto& id : d.moved) all += (all.empty() ? "" : " ") + id;
    for (const auto& id : d.left) all += " " + id;
    auto owner_text = [](const std::string& o) { return o == "monolith" ? std::string("the monolith") : "'" + o + "'"; };
    problems.push_back(
        "'" + d.service + "' would have its writes on two owners: " + list(d.moved) + " to " + owner_text(d.moved_to) +
        " while " + list(d.left) + (d.left.size() == 1 ? " stays" : " stay") + " with " + owner_text(d.left_with) +
        ", and " + feed_owner +
        " publishes a change feed (a client's update of a row it has just created could reach the owner that "
        "has not applied it yet); move them in one change: banyan route set " + all + " " +
        (d.moved_to == "monolith" ? "monolith" : "service"));
  }
  if (problems.empty()) return std::nullopt;
  return invalid(problems);
}

http::response admin_api::cutover_failed(const http::request& req, const std::string& action, const std::string& target,
                                         const routing_snapshot& live, const cutover_result& result) {
  audit_entry entry;
  entry.operator_name = operator_of(req);
  entry.token_id = token_id();
  entry.action = "cutover.failed";
  entry.target = action + " " + target;
  json::object routing = routing_json(live);
  entry.before = json::serialize(routing);
  routing["cutover"] = to_json(result);
  entry.after = json::serialize(routing);
  entry.reason = result.reason;
  std::string audit_problem;
  try {
    ctx_.store.record(std::move(entry));
  } catch (const std::exception& e) {
    audit_problem = std::string(" (and the failed attempt could not be audited: ") + e.what() + ")";
  }
  return http::json_response(
      409, json::object{{"error", json::object{{"code", "cutover_failed"},
                                               {"message", "the write cut-over gave up, the routing is unchanged: " +
                                                               result.reason + audit_problem}}},
                        {"cutover", to_json(result)}});
}

bool admin_api::read_routing(const json::object& body, const routing_snapshot* current, std::vector<route>& routes,
                             std::map<std::string, std::string>& services, std::vector<std::string>& problems) const {
  if (!parse_routes(body, routes, problems)) return false;
  services = current ? current->services : std::map<std::string, std::string>{};
  parse_services(body, services, problems);
  return problems.empty();
}

http::response admin_api::put_plan(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  auto text = [&](std::string_view key) { return text_of(*body, key); };
  plan_progress progress{text("name"), text("document"), text("stage"), {}, {}, {}};
  if (progress.name.empty() || progress.document.empty() || progress.stage.empty())
    return invalid({"name, document and stage are required"});
  const auto* force_v = body->if_contains("force");
  const bool force = force_v && force_v->is_bool() && force_v->as_bool();
  const std::string requested_action = text("action");
  if (!requested_action.empty() && requested_action != "apply" && requested_action != "advance" &&
      requested_action != "rollback")
    return invalid({"action must be apply, advance or rollback"});
  std::lock_guard lock(change_mutex_);
  const auto current = ctx_.routing.load();  // the one routing this change is prepared from
  std::vector<route> routes;
  std::map<std::string, std::string> services;
  if (std::vector<std::string> problems; !read_routing(*body, current.get(), routes, services, problems))
    return invalid(problems);
  // Another plan (or another version of this one) is in progress: only --force replaces it.
  const auto stored = ctx_.store.plan();
  // The plan checked below and the routing the change is saved against must be one state: in a
  // fleet the follower installs another instance's change as the routing first and the plan next,
  // and two advances from the same stage both passed the stage check (found by CI under the
  // sanitizers). Taken from different revisions, the change is refused as the save would be.
  if (stored && current && stored->revision != current->state_revision)
    return http::error_response(409, "routing_changed",
                                "the change was not applied: another instance changed the state while it was prepared "
                                "(revision " +
                                    std::to_string(current->state_revision) + ", then " +
                                    std::to_string(stored->revision) + "); look again with banyan plan status");
  const bool other_plan = stored && (stored->name != progress.name || stored->document != progress.document);
  if (other_plan && !force)
    return http::error_response(409, "plan_in_progress",
                                "plan '" + stored->name + "' is in progress at stage '" + stored->stage +
                                    (stored->name == progress.name ? "' with different contents" : "'") +
                                    "; apply with --force to replace it");
  // Advance and rollback move from a stage the caller saw: if it changed meanwhile (another
  // operator, another watcher), the move is refused rather than applied to the wrong stage.
  if (const auto from = text("from_stage"); !from.empty() && (!stored || stored->stage != from))
    return http::error_response(409, "stage_changed",
                                "the plan is no longer at stage '" + from + "'" +
                                    (stored ? " (it is at '" + stored->stage + "')" : std::string()) +
                                    "; look again with banyan plan status");
  const std::string action = requested_action == "rollback"  ? "plan.rollback"
                             : requested_action == "advance" ? "plan.advance"
                             : other_plan                     ? "plan.apply.forced"
                                                              : "plan.apply";
  return apply(current, std::move(routes), std::move(services), req, action, progress.name + "@" + progress.stage,
               text("reason"), &progress);
}

// The last stage's gates passed: the migration is complete. Recorded once in the audit log like
// every other step; the routing does not change.
http::response admin_api::complete_plan(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  auto text = [&](std::string_view key) { return text_of(*body, key); };
  const std::string name = text("name"), stage = text("stage");
  if (name.empty() || stage.empty()) return invalid({"name and stage are required"});
  std::lock_guard lock(change_mutex_);
  const auto stored = ctx_.store.plan();
  if (!stored || stored->name != name || stored->stage != stage)
    return http::error_response(409, "stage_changed",
                                "plan '" + name + "' is not at stage '" + stage + "'" +
                                    (stored ? " (plan '" + stored->name + "' is at '" + stored->stage + "')" : std::string()) +
                                    "; look again with banyan plan status");
  const auto current = ctx_.routing.load();
  const std::string routing = current ? json::serialize(routing_json(*current)) : "{}";
  audit_entry entry;
  entry.operator_name = operator_of(req);
  entry.token_id = token_id();
  entry.action = "plan.complete";
  entry.target = name + "@" + stage;
  entry.before = entry.after = routing;
  entry.reason = text("reason");
  bool recorded = false;
  try {
    recorded = ctx_.store.complete_plan(std::move(entry));
  } catch (const state_conflict& e) {
    return http::error_response(409, "routing_changed", e.what());
  } catch (const std::exception& e) {
    return http::error_response(503, "state_store_unavailable", std::string("cannot save state: ") + e.what());
  }
  return http::json_response(200, json::object{{"changed", recorded}, {"completed_at", ctx_.store.plan()->completed_at}});
}

http::response admin_api::replace_routes(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  std::lock_guard lock(change_mutex_);
  const auto current = ctx_.routing.load();
  std::vector<route> routes;
  std::map<std::string, std::string> services;
  if (std::vector<std::string> problems; !read_routing(*body, current.get(), routes, services, problems))
    return invalid(problems);
  return apply(current, std::move(routes), std::move(services), req, "routes.replace", "*", reason_of(*body));
}

http::response admin_api::set_mode(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  return set_modes(req, *body, {std::string(req.param("id"))});
}

http::response admin_api::set_modes(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  std::vector<std::string> ids;
  const auto* list = body->if_contains("routes");
  if (list && list->is_array()) {
    for (const auto& v : list->as_array()) {
      if (!v.is_string() || v.as_string().empty()) return invalid({"routes must be an array of route ids"});
      ids.emplace_back(v.as_string());
    }
  }
  if (ids.empty()) return invalid({"routes must name at least one route id"});
  return set_modes(req, *body, std::move(ids));
}

// Several routes to one mode (and canary share) in one change: one validation, one barrier, one
// audit entry — so that a dataset's write routes move together.
http::response admin_api::set_modes(http::request& req, const json::object& body, std::vector<std::string> ids) {
  std::lock_guard lock(change_mutex_);
  const auto current = ctx_.routing.load();
  std::vector<route> routes = current && current->table ? current->table->routes() : std::vector<route>{};
  std::vector<std::string> problems;
  std::string target;
  for (const auto& id : ids) {
    if (std::count(ids.begin(), ids.end(), id) > 1) return invalid({"route '" + id + "' is named twice"});
    const auto it = std::find_if(routes.begin(), routes.end(), [&](const route& x) { return x.id == id; });
    if (it == routes.end()) return http::error_response(404, "unknown_route", "no route with id '" + id + "'");
    route& r = *it;
    json::object patch{{"id", id}, {"match", json::object{{"path", r.path}}}};
    patch["mode"] = body.contains("mode") ? body.at("mode") : json::value(std::string(to_string(r.mode)));
    if (body.contains("percent")) patch["percent"] = body.at("percent");
    route parsed;
    if (!route_from_json(patch, parsed, problems)) return invalid(problems);
    // A canary needs its share, as in plans: without one it would keep whatever the route had
    // (100 % coming from service mode).
    if (parsed.mode == route_mode::canary && !body.contains("percent"))
      return invalid({"a canary needs its share: give percent (0-100) for route '" + id + "'"});
    // A percent means a canary share; on another mode it would contradict the mode.
    if (body.contains("percent") && parsed.mode != route_mode::canary)
      return invalid({"percent applies to canary only; route '" + id + "' would be " +
                      std::string(to_string(parsed.mode))});
    r.mode = parsed.mode;
    if (body.contains("percent")) r.percent_bp = parsed.percent_bp;
    else if (r.mode == route_mode::service) r.percent_bp = 10'000;
    else if (r.mode != route_mode::canary) r.percent_bp = 0;
    target += (target.empty() ? "" : ",") + id;
  }
  return apply(current, std::move(routes), current->services, req, "route.mode", target, reason_of(body));
}

}  // namespace banyan::proxy
