#include "banyan/proxy/write_cutover.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/feed.hpp"
#include "banyan/sync/sync_status.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <memory>
#include <thread>

namespace banyan::proxy {

namespace json = boost::json;

json::object to_json(const cutover_result& r) {
  json::array pairs;
  for (const auto& p : r.pairs) {
    json::array routes;
    for (const auto& id : p.routes) routes.push_back(json::string(id));
    json::object o{{"from", p.from}, {"to", p.to},           {"routes", std::move(routes)},
                   {"source_head", nullptr}, {"source_has_no_feed", p.source_has_no_feed},
                   {"target_applied", p.target_applied},   {"target_state", p.target_state}};
    if (p.source_head) o["source_head"] = *p.source_head;
    if (!p.note.empty()) o["waiting_for"] = p.note;
    if (!p.fence_problem.empty()) o["fence_problem"] = p.fence_problem;
    pairs.push_back(std::move(o));
  }
  json::array moves;
  for (const auto& m : r.moves) moves.push_back(json::object{{"route", m.route}, {"from", m.from}, {"to", m.to}});
  json::object o{{"switched", r.switched},       {"reason", r.reason},         {"held_ms", r.held_ms},
                 {"writes_held", r.writes_held}, {"pairs", std::move(pairs)}, {"moves", std::move(moves)},
                 {"finished_at", r.finished_at}};
  if (r.fleet_held_ms) o["fleet_held_ms"] = *r.fleet_held_ms;
  return o;
}

namespace {

http::client_options probe_options() {
  http::client_options o;
  // Probes run while writes wait: short, so that a hung owner costs the hold limit, not more.
  o.connect_timeout = std::chrono::milliseconds(500);
  o.timeout = std::chrono::milliseconds(1000);
  o.user_agent = "banyan-proxy-cutover";
  return o;
}

// The old owner's feed head, or that it has none (404), or why it could not be read.
struct head_reading {
  std::optional<std::int64_t> head;
  bool no_feed = false;
  std::string problem;
};
head_reading read_head(http::client& c) {
  head_reading out;
  // committed=1: a publisher that captures from a log (banyan-sync on PostgreSQL) answers once it
  // has every change committed before the question; others are always there.
  auto res = c.get("/internal/events?after=0&limit=1&committed=1");
  if (!res) {
    out.problem = res.error().message;
    return out;
  }
  if (res->status == 404) {
    out.no_feed = true;
    return out;
  }
  if (res->status != 200) {
    out.problem = "GET /internal/events answered " + std::to_string(res->status);
    return out;
  }
  auto page = sync::parse_feed_page(res->body);
  if (!page) out.problem = "GET /internal/events: " + page.error();
  else out.head = page->head;
  return out;
}

// The new owner's sync status into the observation.
void sample_target(http::client& c, const std::string& source_url, barrier_observation& o) {
  o.target_answered = false;
  // Which feed it should follow, for an owner that follows several (legacy-shop follows each
  // service that took writes from it); one that follows one feed ignores it.
  auto res = c.get("/internal/sync?source=" + source_url);
  if (!res) {
    o.target_problem = res.error().message;
    return;
  }
  if (res->status != 200) {
    o.target_problem = res->status == 404 ? "it follows no feed (404 at /internal/sync)"
                                          : "GET /internal/sync answered " + std::to_string(res->status);
    return;
  }
  auto st = sync::parse_sync_status(res->body);
  if (!st) {
    o.target_problem = "GET /internal/sync: " + st.error();
    return;
  }
  o.target_answered = true;
  o.target_state = st->state;
  o.target_why = st->why;
  o.target_applied = st->applied;
  o.target_source = st->source;
  o.target_follows_source = same_listener(st->source, source_url);
}


}  // namespace

bool publishes_feed(const std::string& url, std::string& why) {
  try {
    http::client c(url, probe_options());
    const auto r = read_head(c);
    if (!r.problem.empty()) why = "could not tell whether " + url + " publishes a change feed: " + r.problem;
    return r.head.has_value();
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

bool write_cutover::move_fences(cutover_result::pair& p, std::int64_t head, std::optional<previous_fence>& was) {
  // Only data that follows a feed has a fence: an old owner without one publishes nothing to raise
  // it on. Moved while every write on these routes is held — before the switch, so that no write
  // released to the new owner finds its fence still up (in a fleet the other instances release
  // theirs as soon as they see the switch). Best effort: a fence that could not be moved is logged
  // and said in the result, and foreign writes then go uncounted there.
  if (p.from_url.empty() || p.to_url.empty()) return false;
  try {
    http::client from(p.from_url, probe_options()), to(p.to_url, probe_options());
    const std::string body = "{\"since\":" + std::to_string(head) + ",\"owner\":\"" + p.to + "\"}";
    http::header_list headers;
    headers.add("Content-Type", "application/json");
    const auto up = from.send("PUT", "/internal/fence", headers, body);
    // Named: the fence raised there when these writes left it, for this service (an app that keeps
    // one per dataset, as legacy-shop does for shipping, lowers only that one).
    const auto down = to.send("DELETE", "/internal/fence?owner=" + p.from);
    // 404/405: not banyan-sync (an app publishing its own feed): it keeps no fence.
    auto fenced = [](const auto& r) { return r && (r->status == 200 || r->status == 404 || r->status == 405); };
    if (!fenced(up)) p.fence_problem = "the fence on " + p.from + " could not be raised";
    if (!fenced(down)) p.fence_problem = "the fence on " + p.to + " could not be lowered";
    // The new owner's fence as it was (up since the writes last left it), to put back if the
    // switch does not happen.
    if (down && down->status == 200) {
      boost::system::error_code ec;
      const auto v = json::parse(down->body, ec);
      const auto* prior = !ec && v.is_object() ? v.as_object().if_contains("was") : nullptr;
      if (prior && prior->is_object() && prior->as_object().contains("up") && prior->at("up") == true &&
          prior->as_object().contains("since") && prior->at("since").is_int64() &&
          prior->as_object().contains("owner") && prior->at("owner").is_string())
        was = previous_fence{prior->at("since").as_int64(), std::string(prior->at("owner").as_string())};
    }
  } catch (const std::exception& e) {
    p.fence_problem = std::string("fence: ") + e.what();
  }
  if (!p.fence_problem.empty()) log::warn("write cut-over: foreign writes are not watched", {{"why", p.fence_problem}});
  return true;
}

void write_cutover::restore_fences(const cutover_result::pair& p, const std::optional<previous_fence>& was) {
  // The writes stay with the old owner: its fence goes down, the new owner's goes back up.
  try {
    http::client from(p.from_url, probe_options()), to(p.to_url, probe_options());
    const auto down = from.send("DELETE", "/internal/fence?owner=" + p.to);
    bool restored = true;
    if (was) {
      http::header_list headers;
      headers.add("Content-Type", "application/json");
      const auto up = to.send("PUT", "/internal/fence", headers,
                              json::serialize(json::object{{"since", was->since}, {"owner", was->owner}}));
      restored = up && up->status == 200;
    }
    if (!down || (down->status != 200 && down->status != 404 && down->status != 405) || !restored)
      log::warn("write cut-over gave up, and the foreign-write fences could not all be put back",
                {{"old_owner", p.from}, {"new_owner", p.to}});
  } catch (const std::exception& e) {
    log::warn("write cut-over gave up, and the foreign-write fences could not be put back", {{"why", e.what()}});
  }
}

cutover_result write_cutover::run(const std::vector<write_move>& moves, const routing_snapshot& before,
                                  const routing_snapshot& after, const go_live_fn& go_live) {
  // One leg per old owner → new owner, each with its probes and observation.
  struct leg {
    cutover_result::pair report;
    std::unique_ptr<http::client> source, target;
    std::string setup_problem;  // an owner without a URL or with a URL the client refuses
    barrier_observation seen;
    bool fences_moved = false;            // at the head read with nothing in flight
    std::optional<previous_fence> fence_was;  // the new owner's, to put back if nothing switches
  };
  std::map<std::pair<std::string, std::string>, leg> legs;
  std::vector<std::shared_ptr<route_stats>> held;
  cutover_result result;
  for (const auto& m : moves) {
    // A route whose writes a canary splits has two old (or new) owners: one leg per direction.
    for (const auto& [from, to] : handover_pairs(m)) {
      auto& l = legs[{from, to}];
      if (l.report.routes.empty()) {
        l.report.from = from;
        l.report.to = to;
        l.report.from_url = routing_.data_url(from, before);
        l.report.to_url = routing_.data_url(to, after);
        try {
          l.source = std::make_unique<http::client>(l.report.from_url, probe_options());
          l.target = std::make_unique<http::client>(l.report.to_url, probe_options());
        } catch (const std::exception& e) {
          l.setup_problem = (l.report.from_url.empty() ? "no URL for " + from
                             : l.report.to_url.empty() ? "no URL for " + to
                                                       : std::string(e.what()));
        }
      }
      l.report.routes.push_back(m.route_id);
      l.seen.route_is_new = l.seen.route_is_new || m.new_route;
    }
    result.moves.push_back({m.route_id, describe(m.from), describe(m.to)});
    held.push_back(routing_.stats_for(m.route_id));
  }

  const auto start = steady_ms();
  std::vector<std::uint64_t> held_before;
  for (const auto& s : held) held_before.push_back(s->writes_held.load());
  {
    std::lock_guard lock(mutex_);
    status_.active = true;
    status_.step = to_string(barrier_step::wait_in_flight);
    status_.routes.clear();
    for (const auto& m : moves) status_.routes.push_back(m.route_id);
    started_ms_ = start;
  }
  // Hold (route_stats): from here a write on these routes either was counted in flight before
  // this store, and is waited for, or sees the hold and waits itself.
  const auto until = start + settings_.hold_limit.count() + 1000;  // + the time persisting may take
  for (const auto& s : held) s->writes_held_until.store(until);

  barrier_verdict verdict;
  // A fleet: the hold is written where every instance sees it; they stop these writes and say so.
  std::string fleet_problem, fleet_waiting;
  bool fleet_drained = fleet_ == nullptr;
  if (fleet_) {
    std::vector<std::string> routes;
    for (const auto& m : moves) routes.push_back(m.route_id);
    if (!fleet_->begin(routes, before.state_revision, settings_.hold_limit, fleet_problem))
      verdict = {barrier_step::give_up, fleet_problem};
  }
  for (; fleet_problem.empty();) {
    const auto elapsed = std::chrono::milliseconds(steady_ms() - start);
    std::uint32_t in_flight = 0;
    for (const auto& s : held) in_flight += s->writes_in_flight.load();
    if (!fleet_drained) {
      // Each turn: the instances' acks come here directly, and the fleet barrier asks etcd itself
      // only now and then (etcd_state_store::drained).
      fleet_waiting.clear();
      fleet_drained = fleet_->drained(fleet_waiting);
      if (fleet_drained) result.fleet_held_ms = steady_ms() - start;
    }
    std::vector<barrier_verdict> verdicts;
    for (auto& [key, l] : legs) {
      auto& o = l.seen;
      o.elapsed = elapsed;
      o.in_flight_writes = in_flight;
      o.fleet_waiting_for = fleet_drained ? std::string() : fleet_waiting;
      if (!l.setup_problem.empty()) {
        verdicts.push_back({barrier_step::give_up, l.setup_problem});
        continue;
      }
      if (in_flight == 0 && fleet_drained && !o.source_head && !o.source_has_no_feed) {
        const auto h = read_head(*l.source);
        o.source_head = h.head;
        o.source_has_no_feed = h.no_feed;
        o.source_problem = h.problem;
      }
      if (o.source_head) sample_target(*l.target, l.report.from_url, o);
      // The fences move as soon as the head is known and the new owner answers, while it catches
      // up: nothing is written to either side but by the sync meanwhile. Not before it answers: a
      // hung new owner would hold the writes a probe's timeout longer (CI: a 1 s hold limit held
      // 3 s, and writes past it failed).
      if (o.source_head && o.target_answered && !l.fences_moved)
        l.fences_moved = move_fences(l.report, *o.source_head, l.fence_was);
      verdicts.push_back(next_barrier_step(settings_, o));
    }
    verdict = combine_barrier_steps(verdicts);
    {
      std::lock_guard lock(mutex_);
      status_.step = to_string(verdict.step);
    }
    if (verdict.step == barrier_step::switch_now || verdict.step == barrier_step::give_up) break;
    // 2 ms between samples of the new owner: a follower that waits at the source applies within a
    // few ms of the head (sync_bench lag: p99 3.3 ms), and 5 ms here added up to 5 ms to every hold.
    std::this_thread::sleep_for(std::chrono::milliseconds(verdict.step == barrier_step::wait_in_flight ? 1 : 2));
  }

  result.held_ms = steady_ms() - start;
  for (std::size_t i = 0; i < held.size(); ++i) result.writes_held += held[i]->writes_held.load() - held_before[i];
  for (auto& [key, l] : legs) {
    auto& p = l.report;
    p.source_head = l.seen.source_head;
    p.source_has_no_feed = l.seen.source_has_no_feed;
    p.target_applied = l.seen.target_applied;
    p.target_state = l.seen.target_answered ? l.seen.target_state : std::string();
    const auto v = next_barrier_step(settings_, l.seen);
    if (v.step != barrier_step::switch_now) p.note = std::string(to_string(v.step));
    result.pairs.push_back(p);
  }
  result.finished_at = now_rfc3339();
  if (verdict.step == barrier_step::switch_now) {
    std::string why;
    result.switched = true;  // as the audit entry saved inside go_live must say
    if (!go_live(result, why)) {  // it commits: before the writes are released
      result.switched = false;
      result.reason = why;
    }
  } else {
    result.reason = verdict.reason;
  }
  if (!result.switched)
    for (auto& [key, l] : legs)
      if (l.fences_moved) restore_fences(l.report, l.fence_was);
  // The switch took the fleet's hold down with the change; anything else leaves it to be taken down.
  if (fleet_ && fleet_problem.empty() && !result.switched) fleet_->abandon();
  // Release: the held writes look again and go where the routing in force now says.
  for (const auto& s : held) s->writes_held_until.store(0);
  result.held_ms = steady_ms() - start;  // the switch's commit held them too (in a fleet, an etcd commit)
  {
    std::lock_guard lock(mutex_);
    status_.active = false;
    status_.step.clear();
    status_.last = result;
    ++(result.switched ? status_.switched : status_.gave_up);
  }
  if (result.switched)
    log::info("write cut-over switched", {{"held_ms", result.held_ms}, {"writes_held", result.writes_held}});
  else
    log::warn("write cut-over gave up: the routing is unchanged",
              {{"reason", result.reason}, {"held_ms", result.held_ms}, {"writes_held", result.writes_held}});
  return result;
}

write_cutover::status write_cutover::current() const {
  std::lock_guard lock(mutex_);
  status s = status_;
  if (s.active) s.elapsed_ms = steady_ms() - started_ms_;
  return s;
}

}  // namespace banyan::proxy
