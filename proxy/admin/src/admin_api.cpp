#include "banyan/proxy/admin_api.hpp"
#include "banyan/platform/clock.hpp"

#include "banyan/platform/hash.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/metrics.hpp"
#include "banyan/shadow/recorder.hpp"

#include "banyan/proxy/route_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace banyan::proxy {

namespace json = boost::json;

bool is_loopback_address(std::string_view address) noexcept {
  return address == "localhost" || address == "::1" || address == "[::1]" || address.starts_with("127.");
}

std::string load_or_create_token(const std::string& path) {
  if (struct stat st{}; ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("admin token file " + path + " is readable by others (mode " + mode +
                             "): anyone on this machine could change routing. chmod 600 " + path);
  }
  if (std::ifstream in(path); in) {
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) throw std::runtime_error("admin token in " + path + " is shorter than 16 characters");
    return token;
  }
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes))
    throw std::runtime_error("cannot read /dev/urandom to make an admin token");
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 0xf];
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create admin token file " + path);
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write admin token file " + path);
  return token;
}

auth_failures::verdict auth_failures::record(const std::string& address, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto& times = recent_[address];
  while (!times.empty() && now - times.front() > window) times.pop_front();
  times.push_back(now);
  if (times.size() > 4 * limit) times.pop_front();  // bounded: only "over the limit" matters beyond this
  if (recent_.size() > 10'000) recent_.clear();     // many addresses: forget them all rather than grow
  verdict v;
  v.recent = times.size();
  v.limited = times.size() > limit;
  // Every failure up to the limit is logged; past it one in ten, so a flood cannot fill the log.
  v.log = !v.limited || ++suppressed_ % 10 == 0;
  return v;
}

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

json::object routing_json(const routing_snapshot& snap) {
  json::array routes;
  if (snap.table)
    for (const auto& r : snap.table->routes()) routes.push_back(route_to_json(r));
  json::object services;
  for (const auto& [name, url] : snap.services) services[name] = url;
  return {{"version", snap.version}, {"routes", std::move(routes)}, {"services", std::move(services)}};
}

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
std::string admin_metrics(const write_cutover::status& s, state_store& store) {
  metrics::registry r;
  std::string why;
  r.get_gauge("banyan_state_store_writable", "0 while routing changes cannot be saved (see /readyz for why)")
      .set(store.writable(why) ? 1 : 0);
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
  router_.add("GET", "/healthz", [](http::request&) {
    return http::json_response(200, json::object{{"status", "ok"}});
  });
  router_.add("GET", "/readyz", [this](http::request&) {
    const auto snap = ctx_.routing.load();
    if (!snap) return http::error_response(503, "not_ready", "no routing installed yet");
    // Traffic still flows without a writable store, but no change could be saved: not ready.
    if (std::string why; !ctx_.store.writable(why))
      return http::error_response(503, "state_store_unavailable", "the state store cannot be written: " + why);
    // Shadow results that cannot be saved do not stop traffic either, but the evidence gates
    // depend on is being lost: not ready, and saying why.
    if (std::string why; ctx_.recorder && !ctx_.recorder->writable(why))
      return http::error_response(503, "shadow_store_unavailable", why);
    return http::json_response(200, json::object{{"status", "ready"}, {"version", snap->version}});
  });
  router_.add("GET", "/metrics", [this](http::request&) {
    http::response res;
    res.headers.set("Content-Type", "text/plain; version=0.0.4");
    res.body = ctx_.metrics_text ? ctx_.metrics_text() : std::string();
    res.body += admin_metrics(cutover_.current(), ctx_.store);
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
    return http::json_response(200, evidence::to_json(doc));
  } catch (const std::exception& e) {
    return http::error_response(503, "evidence_unavailable", std::string("cannot read the evidence: ") + e.what());
  }
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
    return http::json_response(200, ctx_.recorder->report(o));
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

http::response admin_api::apply(std::vector<route> routes, std::map<std::string, std::string> services,
                                const http::request& req, std::string action, std::string target, std::string reason,
                                const plan_progress* progress) {
  const auto current = ctx_.routing.load();
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
  auto go_live = [&](const cutover_result* barrier) {
    if (barrier) {  // the audit entry says how the writes moved
      after["cutover"] = to_json(*barrier);
      entry.after = json::serialize(after);
    }
    try {
      ctx_.store.save({routes, services}, entry, progress);
    } catch (const std::exception& e) {
      save_failure = std::string("cannot save state: ") + e.what();
      return false;
    }
    ctx_.routing.commit(snap);
    return true;
  };
  if (moves.empty()) {
    if (!go_live(nullptr))
      return http::error_response(503, "state_store_unavailable", "the change was not applied: " + save_failure);
    return http::json_response(200, json::object{{"changed", true}, {"routing", routing_json(*snap)}});
  }
  const auto result = cutover_.run(moves, *current, *snap, [&](const cutover_result& so_far, std::string& why) {
    const bool ok = go_live(&so_far);
    if (!ok) why = save_failure;
    return ok;
  });
  if (!result.switched) {
    if (!save_failure.empty())
      return http::error_response(503, "state_store_unavailable", "the change was not applied: " + save_failure);
    return cutover_failed(req, audit_action, audit_target, *current, result);
  }
  return http::json_response(200, json::object{{"changed", true}, {"routing", routing_json(*snap)}, {"cutover", to_json(result)}});
}

std::optional<http::response> admin_api::refuse_split_writes(const std::vector<std::string>& split,
                                                             const routing_snapshot& after) const {
  std::vector<std::string> problems;
  for (const auto& id : split) {
    const route* r = after.table->find(id);
    if (!r) continue;
    const auto service_url = after.services.count(r->service) ? after.services.at(r->service) : std::string();
    std::string why;
    std::string feed_owner;
    if (publishes_feed(ctx_.monolith_url, why)) feed_owner = "the monolith";
    else if (!service_url.empty() && publishes_feed(service_url, why)) feed_owner = r->service;
    if (feed_owner.empty()) continue;  // no data follows these writes: a canary may split them
    problems.push_back("route '" + id + "': a canary would split its writes between the monolith and '" + r->service +
                       "' while " + feed_owner +
                       " publishes a change feed; writes move whole (mode service or monolith, through the "
                       "cut-over barrier), or give the canary only the reads (methods: [GET, HEAD])");
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

bool admin_api::read_routing(const json::object& body, std::vector<route>& routes,
                             std::map<std::string, std::string>& services, std::vector<std::string>& problems) const {
  if (!parse_routes(body, routes, problems)) return false;
  const auto current = ctx_.routing.load();
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
  std::vector<route> routes;
  std::map<std::string, std::string> services;
  if (std::vector<std::string> problems; !read_routing(*body, routes, services, problems)) return invalid(problems);
  // Another plan (or another version of this one) is in progress: only --force replaces it.
  const auto stored = ctx_.store.plan();
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
  return apply(std::move(routes), std::move(services), req, action, progress.name + "@" + progress.stage,
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
  } catch (const std::exception& e) {
    return http::error_response(503, "state_store_unavailable", std::string("cannot save state: ") + e.what());
  }
  return http::json_response(200, json::object{{"changed", recorded}, {"completed_at", ctx_.store.plan()->completed_at}});
}

http::response admin_api::replace_routes(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  std::lock_guard lock(change_mutex_);
  std::vector<route> routes;
  std::map<std::string, std::string> services;
  if (std::vector<std::string> problems; !read_routing(*body, routes, services, problems)) return invalid(problems);
  return apply(std::move(routes), std::move(services), req, "routes.replace", "*", reason_of(*body));
}

http::response admin_api::set_mode(http::request& req) {
  auto body = http::parse_json_object(req);
  if (!body) return body.error();
  const std::string id(req.param("id"));
  std::lock_guard lock(change_mutex_);
  const auto current = ctx_.routing.load();
  const route* existing = current && current->table ? current->table->find(id) : nullptr;
  if (!existing) return http::error_response(404, "unknown_route", "no route with id '" + id + "'");
  std::vector<route> routes = current->table->routes();
  route& r = *std::find_if(routes.begin(), routes.end(), [&](const route& x) { return x.id == id; });
  std::vector<std::string> problems;
  json::object patch{{"id", id}, {"match", json::object{{"path", r.path}}}};
  patch["mode"] = body->contains("mode") ? body->at("mode") : json::value(std::string(to_string(r.mode)));
  if (body->contains("percent")) patch["percent"] = body->at("percent");
  route parsed;
  if (!route_from_json(patch, parsed, problems)) return invalid(problems);
  // A canary needs its share, as in plans: without one it would keep whatever the route had
  // (100 % coming from service mode).
  if (parsed.mode == route_mode::canary && !body->contains("percent"))
    return invalid({"a canary needs its share: give percent (0-100) for route '" + id + "'"});
  // A percent means a canary share; on another mode it would contradict the mode.
  if (body->contains("percent") && parsed.mode != route_mode::canary)
    return invalid({"percent applies to canary only; route '" + id + "' would be " +
                    std::string(to_string(parsed.mode))});
  r.mode = parsed.mode;
  if (body->contains("percent")) r.percent_bp = parsed.percent_bp;
  else if (r.mode == route_mode::service) r.percent_bp = 10'000;
  else if (r.mode != route_mode::canary) r.percent_bp = 0;
  return apply(std::move(routes), current->services, req, "route.mode", id, reason_of(*body));
}

}  // namespace banyan::proxy
