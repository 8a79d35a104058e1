#include "banyan/plan/gates.hpp"

#include "banyan/evidence/evidence.hpp"
#include "banyan/proxy/cutover_barrier.hpp"
#include "banyan/sync/sync_status.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>

namespace banyan::plan {

namespace json = boost::json;

std::string_view to_string(gate_state s) noexcept {
  switch (s) {
    case gate_state::pass: return "pass";
    case gate_state::waiting: return "waiting";
    case gate_state::fail: return "fail";
  }
  return "?";
}

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent_text(double v) { return fixed(v, 2) + " %"; }

}  // namespace

std::string format_duration(std::chrono::milliseconds d) {
  const auto total = std::max<std::int64_t>(0, d.count() / 1000);
  char buf[48];
  if (total >= 3600) std::snprintf(buf, sizeof buf, "%lldh %02lldm", static_cast<long long>(total / 3600),
                                   static_cast<long long>(total % 3600 / 60));
  else if (total >= 60) std::snprintf(buf, sizeof buf, "%lldm %02llds", static_cast<long long>(total / 60),
                                      static_cast<long long>(total % 60));
  else std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(total));
  return buf;
}

std::map<std::string, route_evidence> read_evidence(const json::object& evidence_json) {
  std::map<std::string, route_evidence> out;
  const auto doc = evidence::parse_evidence(evidence_json);  // the contract's one decoder
  auto side = [](const evidence::side_figures& f) {
    return side_figures{f.requests, f.errors, f.latency.p99_ms, f.latency.count};
  };
  for (const auto& [id, r] : doc.routes) {
    route_evidence e;
    e.requests = r.requests;
    e.monolith = side(r.monolith);
    e.service = side(r.service);
    e.monolith_baseline_p99_ms = r.monolith_baseline.p99_ms;
    e.baseline_count = r.monolith_baseline.count;
    if (r.shadow) {
      e.shadowed = true;
      e.parity_percent = r.shadow->parity.percent;
      e.compared = r.shadow->parity.compared;
      e.min_compared = r.shadow->parity.min_compared;
      e.parity_enough = r.shadow->parity.enough;
      e.copies = r.shadow->copies;
      e.copy_errors = r.shadow->service_errors;
      e.shadow_monolith_p99_ms = r.shadow->monolith.p99_ms;
      e.shadow_service_p99_ms = r.shadow->service.p99_ms;
      e.shadow_latency_count = std::min(r.shadow->monolith.count, r.shadow->service.count);
    }
    if (r.sync) {
      sync_figures f;
      f.service = r.sync->service;
      f.probed = r.sync->probed;
      f.answered = r.sync->answered;
      f.problem = r.sync->problem;
      f.age_ms = r.sync->age_ms;
      if (const auto& s = r.sync->status) {
        f.state = s->state;
        f.why = s->why;
        f.lag_events = s->lag_events;
        f.lag_seconds = s->lag_seconds;
        f.source_reachable = s->source_reachable;
        f.rows_done = s->backfill.rows_done;
        f.rows_total = s->backfill.rows_total;
        f.foreign_writes = s->foreign_writes;
      }
      e.sync = std::move(f);
    }
    out.emplace(id, std::move(e));
  }
  return out;
}

namespace {

// The sync_lag gate for one route: the service's sync following, and no further behind than the bound.
gate_result judge_sync_lag(const std::string& route_id, const route_evidence& e, const gates::sync_lag_bound& bound) {
  std::string threshold;
  if (bound.events) threshold = "≤ " + std::to_string(*bound.events) + " events";
  if (bound.age) threshold += (threshold.empty() ? "≤ " : ", ≤ ") + fixed(static_cast<double>(bound.age->count()) / 1000, 1) + " s";
  gate_result r{"sync_lag", route_id, gate_state::waiting, "—", threshold, {}, {}};
  if (!e.sync) {
    r.why = "no sync status for this route's service yet (the proxy samples it with its health checks)";
    return r;
  }
  const auto& s = *e.sync;
  const std::string who = s.service.empty() ? "the service" : s.service;
  if (!s.probed) {
    r.why = "the proxy has not sampled " + who + "'s sync yet";
  } else if (!s.answered) {
    r.why = "no sync status from " + who + ": " + s.problem;
  } else if (s.age_ms > max_sync_sample_age_ms) {
    r.why = who + "'s last sync status is " + format_duration(std::chrono::milliseconds(s.age_ms)) + " old";
  } else {
    r.measured = std::to_string(s.lag_events) + " events, " + fixed(s.lag_seconds, 1) + " s";
    r.value = s.lag_seconds;
    if (s.state == "stopped") {
      r.state = gate_state::fail;
      r.why = who + "'s sync stopped: " + s.why;
    } else if (s.state == "backfilling") {
      r.measured = "backfilling";
      r.why = who + " is still backfilling (" + std::to_string(s.rows_done) +
              (s.rows_total ? " of " + std::to_string(*s.rows_total) : std::string()) + " rows copied)";
    } else if (!s.source_reachable) {
      r.why = who + " cannot reach its source: " + s.why;
    } else if (bound.events && s.lag_events > *bound.events) {
      r.why = who + " is " + std::to_string(s.lag_events - *bound.events) + " events over the bound";
    } else if (bound.age && s.lag_seconds * 1000 > static_cast<double>(bound.age->count())) {
      r.why = who + "'s oldest unapplied change is older than the bound";
    } else {
      r.state = gate_state::pass;
    }
  }
  return r;
}

// The foreign_writes gate for a route whose writes a service owns: the old owner's banyan-sync
// counts the changes to its moved tables it did not apply, and at most `bound` may have happened.
gate_result judge_foreign_writes(const std::string& route_id, const route_evidence& e, std::int64_t bound) {
  gate_result r{"foreign_writes", route_id, gate_state::waiting, "—", "≤ " + std::to_string(bound), {}, {}};
  if (!e.sync || !e.sync->probed) {
    r.why = "no sync status from the old owner yet (the proxy samples it with its health checks)";
  } else if (!e.sync->answered) {
    r.why = "no sync status from " + e.sync->service + ": " + e.sync->problem;
  } else if (!e.sync->foreign_writes) {
    r.why = e.sync->service + " does not count foreign writes: its data needs banyan-sync (and the proxy's data: URL)";
  } else {
    const auto n = *e.sync->foreign_writes;
    r.measured = std::to_string(n) + (n == 1 ? " change" : " changes");
    r.value = static_cast<double>(n);
    r.state = n <= bound ? gate_state::pass : gate_state::fail;
    if (n > bound)
      r.why = std::to_string(n) + " changes to the moved tables in " + e.sync->service +
              "'s database were not made by banyan-sync (its /internal/fence lists the latest)";
  }
  return r;
}

}  // namespace

std::optional<evidence::fleet_coverage> read_fleet_coverage(const json::object& evidence_json) {
  return evidence::parse_evidence(evidence_json).fleet;
}

stage_evaluation evaluate_stage(const plan& p, const stage& s, const std::map<std::string, route_evidence>& evidence,
                                std::chrono::milliseconds in_stage, const evidence::fleet_coverage* fleet) {
  stage_evaluation ev;
  const gates& g = s.gate;
  auto add = [&](gate_result r) { ev.gates.push_back(std::move(r)); };

  if (fleet) {
    gate_result r{"fleet", "", gate_state::pass,
                  std::to_string(fleet->answered) + " of " + std::to_string(fleet->asked) + " instances",
                  "every instance", {}, static_cast<double>(fleet->answered)};
    if (!fleet->missing.empty()) {
      r.state = gate_state::waiting;
      r.why = "the evidence lacks ";
      for (const auto& [instance, why] : fleet->missing)
        r.why += (r.why.back() == ' ' ? "" : "; ") + instance + " (" + why + ")";
    }
    add(std::move(r));
  }

  if (g.min_duration) {
    gate_result r{"min_duration", "", gate_state::pass, format_duration(in_stage), format_duration(*g.min_duration), {},
                  static_cast<double>(in_stage.count())};
    if (in_stage < *g.min_duration) {
      r.state = gate_state::waiting;
      r.why = format_duration(*g.min_duration - in_stage) + " to go";
    }
    add(std::move(r));
  }

  const auto routing = p.routes_at(s);
  for (const auto& route : routing) {
    if (route.mode == proxy::route_mode::monolith) continue;  // not moving in this stage: nothing to judge
    static const route_evidence none;
    const auto it = evidence.find(route.id);
    const route_evidence& e = it == evidence.end() ? none : it->second;
    const bool shadow_copies = route.mode == proxy::route_mode::shadow ||
                               (route.mode == proxy::route_mode::service && route.shadow.reverse);
    if (g.sync_lag) add(judge_sync_lag(route.id, e, *g.sync_lag));  // data, whether or not traffic came
    if (g.foreign_writes && route.mode == proxy::route_mode::service && proxy::takes_writes(route))
      add(judge_foreign_writes(route.id, e, *g.foreign_writes));
    if (e.requests == 0) {
      gate_result r{"no_traffic", route.id, gate_state::waiting, "0 requests", std::string(to_string(g.no_traffic)), {}, 0.0};
      switch (g.no_traffic) {
        case no_traffic_policy::wait: r.why = "no requests yet; the plan waits for traffic"; break;
        case no_traffic_policy::pass: r.state = gate_state::pass; r.why = "no requests; the plan lets it pass"; break;
        case no_traffic_policy::fail: r.state = gate_state::fail; r.why = "no requests; the plan fails the stage"; break;
      }
      add(std::move(r));
      continue;
    }
    if (g.min_requests) {
      gate_result r{"min_requests", route.id, gate_state::pass, std::to_string(e.requests),
                    std::to_string(*g.min_requests), {}, static_cast<double>(e.requests)};
      if (e.requests < static_cast<std::int64_t>(*g.min_requests)) {
        r.state = gate_state::waiting;
        r.why = std::to_string(static_cast<std::int64_t>(*g.min_requests) - e.requests) + " more requests to go";
      }
      add(std::move(r));
    }
    if (g.parity_percent && shadow_copies) {
      gate_result r{"parity", route.id, gate_state::waiting, "—", "≥ " + percent_text(*g.parity_percent), {}, {}};
      if (!e.parity_enough || !e.parity_percent) {
        r.why = "too few comparisons: " + std::to_string(e.compared) + " of " + std::to_string(e.min_compared);
        if (e.compared) r.measured = (e.parity_percent ? percent_text(*e.parity_percent) : "—") + " of " +
                                     std::to_string(e.compared);
      } else {
        r.value = *e.parity_percent;
        r.measured = percent_text(*e.parity_percent) + " of " + std::to_string(e.compared);
        if (*e.parity_percent >= *g.parity_percent) {
          r.state = gate_state::pass;
        } else {
          r.state = gate_state::fail;
          r.why = "parity below the threshold (banyan shadow report --route " + route.id + " shows what differs)";
        }
      }
      add(std::move(r));
    }
    if (g.error_rate_percent) {
      // The service's answers: live ones when it serves traffic, its answers to copies in shadow.
      const bool live = route.mode == proxy::route_mode::canary || route.mode == proxy::route_mode::service;
      const std::int64_t answers = live ? e.service.requests : e.copies;
      const std::int64_t errors = live ? e.service.errors : e.copy_errors;
      gate_result r{"error_rate", route.id, gate_state::waiting, "—", "≤ " + percent_text(*g.error_rate_percent), {}, {}};
      if (answers < min_answers_to_judge) {
        r.why = std::to_string(answers) + " service answers; judged from " + std::to_string(min_answers_to_judge);
      } else {
        const double rate = 100.0 * static_cast<double>(errors) / static_cast<double>(answers);
        r.value = rate;
        r.measured = percent_text(rate) + " (" + std::to_string(errors) + " of " + std::to_string(answers) + ")";
        if (rate <= *g.error_rate_percent) {
          r.state = gate_state::pass;
        } else {
          r.state = gate_state::fail;
          r.why = "the service fails more often than the plan allows";
        }
      }
      add(std::move(r));
    }
    if (g.p99_ratio) {
      std::optional<double> service_p99, monolith_p99;
      std::int64_t samples = 0;
      std::string baseline_note;
      if (route.mode == proxy::route_mode::shadow) {
        service_p99 = e.shadow_service_p99_ms;
        monolith_p99 = e.shadow_monolith_p99_ms;
        samples = e.shadow_latency_count;
      } else if (route.mode == proxy::route_mode::canary) {
        service_p99 = e.service.p99_ms;
        monolith_p99 = e.monolith.p99_ms;
        samples = std::min(e.service.latency_count, e.monolith.latency_count);
      } else if (route.shadow.reverse && e.shadow_monolith_p99_ms) {  // service with reverse shadow
        service_p99 = e.service.p99_ms;
        monolith_p99 = e.shadow_monolith_p99_ms;
        samples = std::min(e.service.latency_count, e.shadow_latency_count);
      } else {  // service: the monolith as it was before this stage
        service_p99 = e.service.p99_ms;
        monolith_p99 = e.monolith_baseline_p99_ms;
        samples = std::min(e.service.latency_count, e.baseline_count);
        baseline_note = " (monolith: the day before this stage)";
      }
      gate_result r{"p99_ratio", route.id, gate_state::waiting, "—", "≤ " + fixed(*g.p99_ratio, 2) + "×", {}, {}};
      if (!service_p99 || !monolith_p99 || *monolith_p99 <= 0 || samples < min_answers_to_judge) {
        r.why = !monolith_p99 ? "no monolith latency to compare with yet" + baseline_note
                              : std::to_string(samples) + " timed answers; judged from " +
                                    std::to_string(min_answers_to_judge);
      } else {
        const double ratio = *service_p99 / *monolith_p99;
        r.value = ratio;
        r.measured = fixed(ratio, 2) + "× (" + fixed(*service_p99, 2) + " / " + fixed(*monolith_p99, 2) + " ms)" +
                     baseline_note;
        if (ratio <= *g.p99_ratio) {
          r.state = gate_state::pass;
        } else {
          r.state = gate_state::fail;
          r.why = "the service's p99 is slower than the plan allows";
        }
      }
      add(std::move(r));
    }
  }

  std::size_t waiting = 0, failing = 0;
  for (const auto& r : ev.gates) {
    waiting += r.state == gate_state::waiting;
    failing += r.state == gate_state::fail;
    if (r.state == gate_state::fail && !p.rollback.to.empty() &&
        std::find(p.rollback.on.begin(), p.rollback.on.end(), r.gate) != p.rollback.on.end())
      ev.breaches.push_back(r);
  }
  ev.passed = waiting == 0 && failing == 0;
  if (ev.passed) ev.summary = "every gate passes";
  else if (!ev.breaches.empty()) ev.summary = std::to_string(ev.breaches.size()) + " breach(es) the plan rolls back on";
  else if (failing) ev.summary = std::to_string(failing) + " gate(s) failing, " + std::to_string(waiting) + " waiting";
  else ev.summary = std::to_string(waiting) + " gate(s) waiting";
  return ev;
}

}  // namespace banyan::plan
