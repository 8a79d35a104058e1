// The admin API's surface: the router, authentication of each request, health, readiness and
// metrics, and the reads (routes, cut-over, plan, services, shadow report, evidence, audit).
// Changes are in admin_changes.cpp, the token in admin_token.cpp.
#include "banyan/proxy/admin_api.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/hash.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/metrics.hpp"
#include "banyan/shadow/recorder.hpp"
#include "banyan/shadow/report.hpp"
#include "routing_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <charconv>

namespace banyan::proxy {

namespace json = boost::json;
namespace urls = boost::urls;

namespace {

json::object cutover_json(const write_cutover::status& s) {
  json::array routes;
  for (const auto& id : s.routes) routes.push_back(json::string(id));
  json::object o{{"active", s.active},
                 {"switched", s.switched},
                 {"gave_up", s.gave_up},
                 {"last", s.last ? json::value(to_json(*s.last)) : json::value(nullptr)}};
  if (s.active) {
    o["step"] = s.step;
    o["routes"] = std::move(routes);
    o["elapsed_ms"] = s.elapsed_ms;
  }
  return o;
}

// The control plane's figures in Prometheus text, after the data plane's: the state store, and the
// barrier (per-route held and in-flight writes are with the other route figures).
std::string admin_metrics(const write_cutover::status& s, state_store& store, fleet_view* fleet) {
  metrics::registry r;
  std::string why;
  r.get_gauge("banyan_state_store_writable", "0 while routing changes cannot be saved (see /readyz for why)")
      .set(store.writable(why) ? 1 : 0);
  if (fleet) {
    const auto st = fleet->status();
    r.get_gauge("banyan_fleet_etcd_reachable", "0 while etcd cannot be reached (the routing applied last is served)")
        .set(st.at("etcd").as_string() == "reachable" ? 1 : 0);
    r.get_gauge("banyan_fleet_applied_revision", "The fleet's state revision this instance serves")
        .set(static_cast<double>(st.at("applied_revision").as_int64()));
    r.get_gauge("banyan_fleet_lease_trusted", "0 once this instance's lease may have expired at etcd")
        .set(st.at("lease_trusted").as_bool() ? 1 : 0);
  }
  r.get_gauge("banyan_cutover_active", "1 while a write cut-over barrier holds writes").set(s.active ? 1 : 0);
  r.get_counter("banyan_cutovers_total", "Write cut-over barriers by outcome", {{"outcome", "switched"}})
      .inc(static_cast<double>(s.switched));
  r.get_counter("banyan_cutovers_total", "Write cut-over barriers by outcome", {{"outcome", "gave_up"}})
      .inc(static_cast<double>(s.gave_up));
  if (s.last)
    r.get_gauge("banyan_cutover_last_hold_seconds", "How long the last barrier held writes")
        .set(static_cast<double>(s.last->held_ms) / 1000.0);
  return r.render();
}

}  // namespace

admin_api::admin_api(admin_context ctx) : ctx_(std::move(ctx)), cutover_(ctx_.routing, ctx_.cutover) {
  cutover_.set_fleet(ctx_.barrier);
  router_.add("GET", "/healthz", [](http::request&) {
    return http::json_response(200, json::object{{"status", "ok"}});
  });
  router_.add("GET", "/readyz", [this](http::request&) {
    const auto snap = ctx_.routing.load();
    if (!snap) return http::error_response(503, "not_ready", "no routing installed yet");
    json::object ready{{"status", "ready"}, {"version", snap->version}};
    if (ctx_.fleet) {
      // A fleet's instance is ready while it serves the fleet's latest routing. etcd away does not
      // make it unready (every instance would be at once, for a fault of the control plane): it
      // serves the routing applied last, refuses changes, and says so here.
      if (const auto why = ctx_.fleet->not_serving_reason(); !why.empty())
        return http::error_response(503, "fleet_state_not_applied", why);
      ready["revision"] = snap->state_revision;
      if (std::string why; !ctx_.store.writable(why)) ready["changes"] = "refused: " + why;
    } else if (std::string why; !ctx_.store.writable(why)) {
      // Traffic still flows without a writable store, but no change could be saved: not ready.
      return http::error_response(503, "state_store_unavailable", "the state store cannot be written: " + why);
    }
    // Shadow results that cannot be saved do not stop traffic either, but the evidence gates
    // depend on is being lost: not ready, and saying why.
    if (std::string why; ctx_.recorder && !ctx_.recorder->writable(why))
      return http::error_response(503, "shadow_store_unavailable", why);
    return http::json_response(200, ready);
  });
  router_.add("GET", "/api/v1/fleet", [this](http::request&) {
    if (!ctx_.fleet)
      return http::error_response(404, "not_a_fleet",
                                  "this banyan-proxy keeps its state in " + ctx_.store.where() +
                                      ", not in etcd: it is not part of a fleet (docs/fleet.md)");
    auto all = ctx_.fleet->instances();
    json::object doc{{"this", ctx_.fleet->status()}};
    if (all) {
      doc["state_revision"] = all->at("state_revision");
      doc["instances"] = all->at("instances");
    } else {
      doc["instances_error"] = all.error();
    }
    return http::json_response(all ? 200 : 503, doc);
  });
  // An instance of the fleet holds the writes of the write cut-over this one coordinates
  // (barrier_participant). Answered without the change lock: the change waiting for it holds that.
  router_.add("POST", "/api/v1/fleet/acks", [this](http::request& req) {
    if (!ctx_.barrier)
      return http::error_response(404, "not_a_fleet", "this banyan-proxy is not part of a fleet (docs/fleet.md)");
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    const auto* hold = body->if_contains("hold");
    const auto* instance = body->if_contains("instance");
    if (!hold || !hold->is_string() || hold->as_string().empty() || !instance || !instance->is_string() ||
        instance->as_string().empty())
      return http::error_response(422, "invalid_ack", "an ack names its hold and its instance: {\"hold\": …, \"instance\": …}");
    if (!ctx_.barrier->acked(std::string(hold->as_string()), std::string(instance->as_string())))
      return http::error_response(409, "hold_not_current",
                                  "this instance coordinates no write cut-over with hold '" +
                                      std::string(hold->as_string()) + "'");
    return http::json_response(200, json::object{{"acked", true}});
  });
  router_.add("GET", "/metrics", [this](http::request&) {
    http::response res;
    res.headers.set("Content-Type", "text/plain; version=0.0.4");
    res.body = ctx_.metrics_text ? ctx_.metrics_text() : std::string();
    res.body += admin_metrics(cutover_.current(), ctx_.store, ctx_.fleet);
    return res;
  });
  router_.add("GET", "/api/v1/routes", [this](http::request&) {
    const auto snap = ctx_.routing.load();
    if (!snap) return http::json_response(200, json::object{});
    // What the routing says, and whether each service can take its share now: an unhealthy
    // service or an open circuit sends its routes' traffic to the monolith (not part of the
    // routing itself, so not in the audit's before and after).
    json::object doc = routing_json(*snap);
    json::object health;
    const auto now = steady_ms();
    for (const auto& u : snap->service_of) {
      if (!u || health.contains(u->name)) continue;
      const auto circuit = u->breaker.current(now);
      health[u->name] = json::object{{"healthy", u->healthy.load(std::memory_order_relaxed)},
                                     {"circuit", circuit == circuit_breaker::state::open        ? "open"
                                                 : circuit == circuit_breaker::state::half_open ? "half_open"
                                                                                                : "closed"}};
    }
    doc["service_health"] = std::move(health);
    // Who takes each route's writes now, and so which way its data syncs.
    json::object owners;
    for (const auto& r : snap->table->routes())
      if (takes_writes(r)) owners[r.id] = write_owner(r);
    doc["write_owners"] = std::move(owners);
    return http::json_response(200, doc);
  });
  router_.add("GET", "/api/v1/cutover", [this](http::request&) { return http::json_response(200, cutover_json(cutover_.current())); });
  router_.add("PUT", "/api/v1/routes", [this](http::request& req) { return replace_routes(req); });
  router_.add("POST", "/api/v1/routes/{id}/mode", [this](http::request& req) { return set_mode(req); });
  router_.add("POST", "/api/v1/routes/mode", [this](http::request& req) { return set_modes(req); });
  router_.add("GET", "/api/v1/plan", [this](http::request&) {
    const auto progress = ctx_.store.plan();
    if (!progress) return http::error_response(404, "no_plan", "no migration plan has been applied");
    return http::json_response(200, json::object{{"name", progress->name},
                                                 {"stage", progress->stage},
                                                 {"applied_at", progress->applied_at},
                                                 {"stage_entered_at", progress->stage_entered_at},
                                                 {"completed_at", progress->completed_at},
                                                 {"document", progress->document}});
  });
  router_.add("PUT", "/api/v1/plan", [this](http::request& req) { return put_plan(req); });
  router_.add("POST", "/api/v1/plan/complete", [this](http::request& req) { return complete_plan(req); });
  router_.add("GET", "/api/v1/services", [this](http::request&) {
    const auto snap = ctx_.routing.load();
    const auto now = steady_ms();
    // The upstreams the routing in force uses: the monolith, then each service once.
    std::vector<const upstream*> in_use;
    if (snap && snap->monolith) in_use.push_back(snap->monolith.get());
    if (snap)
      for (const auto& u : snap->service_of)
        if (u && std::find(in_use.begin(), in_use.end(), u.get()) == in_use.end()) in_use.push_back(u.get());
    json::array out;
    for (const upstream* u : in_use) {
      const auto state = u->breaker.current(now);
      out.push_back(json::object{{"name", u->name},
                                 {"url", u->url},
                                 {"circuit", state == circuit_breaker::state::closed   ? "closed"
                                             : state == circuit_breaker::state::open ? "open"
                                                                                     : "half_open"},
                                 {"healthy", u->healthy.load()},
                                 {"requests", u->requests.load()},
                                 {"failures", u->failures.load()},
                                 {"connections", u->connections.open()},
                                 {"queued", u->connections.waiting.load()},
                                 {"saturated", u->connections.saturated.load()}});
    }
    return http::json_response(200, json::object{{"services", std::move(out)}});
  });
  router_.add("GET", "/api/v1/shadow/report", [this](http::request& req) { return shadow_report(req); });
  router_.add("GET", "/api/v1/evidence", [this](http::request& req) { return evidence(req); });
  router_.add("GET", "/api/v1/audit", [this](http::request& req) {
    std::int64_t after = 0, limit = 100;
    auto number = [](std::optional<std::string_view> v, std::int64_t& out, std::int64_t max) {
      if (!v) return true;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
      return ec == std::errc() && end == v->data() + v->size() && out >= 0 && out <= max;
    };
    if (!number(req.query_param("after"), after, INT64_MAX) || !number(req.query_param("limit"), limit, 1000) ||
        limit == 0)
      return http::error_response(400, "invalid_query", "after must be an id and limit 1 to 1000");
    json::array entries;
    std::int64_t next = after;
    for (const auto& e : ctx_.store.audit(after, static_cast<int>(limit))) {
      next = e.id;
      entries.push_back(json::object{{"id", e.id},
                                     {"at", e.at},
                                     {"operator", e.operator_name},
                                     {"token", e.token_id},
                                     {"action", e.action},
                                     {"target", e.target},
                                     {"before", json::parse(e.before)},
                                     {"after", json::parse(e.after)},
                                     {"reason", e.reason}});
    }
    return http::json_response(200, json::object{{"entries", std::move(entries)}, {"next", next}});
  });
}

namespace {
// A numeric query parameter within [lo, hi]; absent leaves `out` as it is.
bool query_number(const http::request& req, std::string_view name, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
  const auto v = req.query_param(name);
  if (!v) return true;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  return ec == std::errc() && end == v->data() + v->size() && out >= lo && out <= hi;
}

// The window and minimum sample of parity figures, shared by the report and the evidence.
std::optional<http::response> read_parity_query(const http::request& req, std::int64_t& window,
                                                std::int64_t& min_compared, std::int64_t& since) {
  if (!query_number(req, "window", window, 1, 1'000'000))
    return http::error_response(400, "invalid_query", "window must be a number of comparisons from 1 to 1000000");
  if (!query_number(req, "min_compared", min_compared, 0, 1'000'000))
    return http::error_response(400, "invalid_query", "min_compared must be a number from 0 to 1000000");
  if (!query_number(req, "since_ms", since, 0, INT64_MAX))
    return http::error_response(400, "invalid_query", "since_ms must be a Unix time in milliseconds");
  return std::nullopt;
}
}  // namespace

// Each service-backed route's latest sync sample (health_checker), for sync_lag gates: as it is
// now, not since the stage began (a lag that closed is no longer a reason to wait).
void admin_api::add_sync_evidence(evidence::evidence_doc& doc) const {
  const auto snap = ctx_.routing.load();
  if (!snap || !snap->table) return;
  const auto now_ms = unix_ms();
  const auto& table = snap->table->routes();
  for (std::size_t i = 0; i < table.size(); ++i) {
    // A route whose writes a service owns syncs the other way: the monolith follows the service.
    const bool reverse = takes_writes(table[i]) && table[i].mode == route_mode::service;
    const auto& u = reverse ? snap->monolith : snap->service_of[i];
    if (!u) continue;
    const auto sample = u->sync();
    evidence::sync_sample s{u->name, sample.probed, sample.answered, sample.problem,
                            sample.probed ? now_ms - sample.sampled_ms : 0, std::nullopt};
    if (sample.answered) s.status = sample.status;
    doc.routes[table[i].id].sync = std::move(s);
  }
}

http::response admin_api::evidence(http::request& req) {
  if (!ctx_.recorder) return http::error_response(404, "no_recorder", "this proxy records no evidence");
  std::int64_t window = 1000, min_compared = 100, since = 0;
  if (auto bad = read_parity_query(req, window, min_compared, since)) return *bad;
  std::int64_t baseline_from = since - 24 * 3600 * 1000;  // the monolith's latency the day before
  if (!query_number(req, "baseline_from_ms", baseline_from, INT64_MIN, since))
    return http::error_response(400, "invalid_query", "baseline_from_ms must be a Unix time in milliseconds before since_ms");
  try {
    auto doc = ctx_.recorder->evidence(since, baseline_from, static_cast<std::size_t>(window),
                                       static_cast<std::size_t>(min_compared));
    add_sync_evidence(doc);
    // A fleet's gates judge the whole fleet's traffic: every instance's evidence, combined, unless
    // the question is one instance's own (as the others ask it).
    if (const auto scope = req.query_param("scope"); ctx_.fleet && !(scope && *scope == "instance")) {
      auto others = ask_fleet(req, "/api/v1/evidence");
      std::vector<evidence::evidence_doc> docs{std::move(doc)};
      for (const auto& d : others.docs) docs.push_back(evidence::parse_evidence(d));
      doc = evidence::combine(docs);
      doc.fleet = std::move(others.coverage);
    }
    return http::json_response(200, evidence::to_json(doc));
  } catch (const std::exception& e) {
    return http::error_response(503, "evidence_unavailable", std::string("cannot read the evidence: ") + e.what());
  }
}

admin_api::fleet_answers admin_api::ask_fleet(const http::request& req, std::string_view path) const {
  fleet_answers out;
  auto& coverage = out.coverage;
  const auto self = ctx_.fleet->status();
  const auto all = ctx_.fleet->instances();
  if (!all) {
    coverage.asked = coverage.answered = 1;
    coverage.missing["the fleet"] = "its instances could not be listed: " + all.error();
    return out;
  }
  std::string query;
  for (const auto& [name, value] : req.query)
    if (name != "scope") query += name + "=" + urls::encode(value, urls::unreserved_chars) + "&";
  query += "scope=instance";
  http::client_options options;
  options.connect_timeout = std::chrono::milliseconds(500);
  options.timeout = std::chrono::milliseconds(5000);  // an instance's answer waits up to 2 s for its recorder
  options.user_agent = "banyan-proxy-fleet";
  http::header_list headers;
  headers.add("Authorization", "Bearer " + ctx_.token);  // the fleet's one token
  for (const auto& v : all->at("instances").as_array()) {
    const auto& i = v.as_object();
    const std::string id = i.contains("id") && i.at("id").is_string() ? std::string(i.at("id").as_string()) : "?";
    ++coverage.asked;
    if (id == self.at("instance").as_string()) {
      ++coverage.answered;
      continue;
    }
    std::string why;
    try {
      http::client c(std::string(i.at("admin").as_string()), options);
      auto res = c.get(std::string(path) + "?" + query, headers);
      if (!res) {
        why = res.error().message;
      } else if (res->status != 200) {
        why = "its admin API answered " + std::to_string(res->status);
      } else {
        boost::system::error_code ec;
        auto body = json::parse(res->body, ec);
        if (ec || !body.is_object()) why = "its answer is not JSON";
        else out.docs.push_back(std::move(body.as_object()));
      }
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (why.empty()) ++coverage.answered;
    else coverage.missing[id] = why;
  }
  return out;
}

http::response admin_api::shadow_report(http::request& req) {
  if (!ctx_.recorder) return http::error_response(404, "no_shadow_recorder", "this proxy records no shadow results");
  shadow::report_options o;
  std::int64_t window = 1000, min_compared = 100, since = 0;
  if (auto bad = read_parity_query(req, window, min_compared, since)) return *bad;
  if (auto r = req.query_param("route")) o.route = std::string(*r);
  o.window = static_cast<std::size_t>(window);
  o.min_compared = static_cast<std::size_t>(min_compared);
  o.since_ms = since;
  try {
    auto report = ctx_.recorder->report(o);
    // A fleet's report is every instance's, merged (each keeps its shadow store).
    if (const auto scope = req.query_param("scope"); ctx_.fleet && !(scope && *scope == "instance")) {
      auto others = ask_fleet(req, "/api/v1/shadow/report");
      others.docs.insert(others.docs.begin(), std::move(report));
      report = shadow::merge_reports(others.docs);
      report["fleet"] = evidence::to_json(others.coverage);
    }
    return http::json_response(200, report);
  } catch (const std::exception& e) {
    return http::error_response(503, "shadow_store_unavailable", std::string("cannot read shadow results: ") + e.what());
  }
}

std::string admin_api::token_id() const {
  // Names the token in the audit log without revealing it: a short FNV-1a fingerprint.
  std::uint64_t h = fnv1a64(ctx_.token);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "token:";
  for (int i = 0; i < 8; ++i, h >>= 4) id += hex[h & 0xf];
  return id;
}

http::response admin_api::handle(http::request& req) {
  const bool open = req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics";
  if (!open) {
    const auto* auth = req.header("Authorization");
    std::string_view presented;
    if (auth && auth->size() > 7 && http::iequals(std::string_view(*auth).substr(0, 7), "Bearer "))
      presented = std::string_view(*auth).substr(7);
    if (presented.empty() || !constant_time_equals(presented, ctx_.token)) {
      const auto now = std::chrono::steady_clock::now();
      const auto verdict = failures_.record(req.remote_address, now);
      if (verdict.log)
        log::warn("admin: request without a valid token",
                  {{"remote", req.remote_address}, {"path", req.path}, {"failures_last_minute", verdict.recent}});
      if (verdict.limited) {
        auto res = http::error_response(429, "too_many_failures",
                                        "too many requests without a valid token from this address; wait a minute");
        res.headers.set("Retry-After", "60");
        return res;
      }
      auto res = http::error_response(401, "unauthorized",
                                      auth ? "the bearer token is not valid" : "an Authorization: Bearer token is required");
      res.headers.set("WWW-Authenticate", "Bearer realm=\"banyan-admin\"");
      return res;
    }
  }
  return router_.dispatch(req);
}

}  // namespace banyan::proxy
