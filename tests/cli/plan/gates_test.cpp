#include "banyan/plan/gates.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace banyan;
using namespace std::chrono_literals;

namespace {

const std::string plan_text = R"(plan: catalog-reads
services:
  catalog: http://127.0.0.1:8082
routes:
  - id: list
    match: {methods: [GET], path: /api/products}
    service: catalog
  - id: detail
    match: {methods: [GET], path: "/api/products/{id}"}
    service: catalog
stages:
  - name: shadow
    routes: {list: shadow, detail: shadow}
    gates: {min_requests: 100, min_duration: 10m, parity: 99.5%, error_rate: 1%, p99_ratio: 1.5, no_traffic: wait}
  - name: canary
    routes:
      list: {mode: canary, percent: 10}
      detail: {mode: canary, percent: 10}
    gates: {min_requests: 100, error_rate: 1%, p99_ratio: 1.5, no_traffic: pass}
  - name: cut-over
    routes: {list: service, detail: service}
    gates: {p99_ratio: 2, no_traffic: fail}
rollback: {on_breach: [error_rate, p99_ratio], to: shadow}
)";

plan::plan load() {
  plan::plan p;
  diagnostics d;
  REQUIRE(plan::parse_plan(plan_text, "plan.yaml", p, d));
  return p;
}

plan::route_evidence shadowed(std::int64_t requests, double parity, std::int64_t compared, double mono_p99,
                              double svc_p99, std::int64_t copy_errors = 0) {
  plan::route_evidence e;
  e.requests = requests;
  e.monolith.requests = requests;
  e.shadowed = true;
  e.parity_percent = parity;
  e.compared = compared;
  e.min_compared = 50;
  e.parity_enough = compared >= 50;
  e.copies = compared;
  e.copy_errors = copy_errors;
  e.shadow_monolith_p99_ms = mono_p99;
  e.shadow_service_p99_ms = svc_p99;
  e.shadow_latency_count = compared;
  return e;
}

const plan::gate_result& gate(const plan::stage_evaluation& ev, const std::string& name, const std::string& route) {
  for (const auto& g : ev.gates)
    if (g.gate == name && g.route == route) return g;
  FAIL("no gate " << name << " for " << route);
  throw 0;
}

}  // namespace

TEST_CASE("a shadow stage passes once time, traffic, parity, errors and latency all pass", "[gates]") {
  const auto p = load();
  std::map<std::string, plan::route_evidence> ev{{"list", shadowed(500, 99.8, 500, 10, 12)},
                                                 {"detail", shadowed(800, 100, 800, 5, 5.5)}};
  auto r = plan::evaluate_stage(p, p.stages[0], ev, 11min);
  INFO(r.summary);
  CHECK(r.passed);
  CHECK(r.breaches.empty());
  CHECK(gate(r, "parity", "list").measured == "99.80 % of 500");
  CHECK(gate(r, "p99_ratio", "list").measured == "1.20× (12.00 / 10.00 ms)");
  // Too early: everything else passes, the stage waits.
  r = plan::evaluate_stage(p, p.stages[0], ev, 4min + 30s);
  CHECK_FALSE(r.passed);
  CHECK(gate(r, "min_duration", "").state == plan::gate_state::waiting);
  CHECK(gate(r, "min_duration", "").why == "5m 30s to go");
}

TEST_CASE("gates say why they do not pass yet", "[gates]") {
  const auto p = load();
  std::map<std::string, plan::route_evidence> ev{{"list", shadowed(40, 100, 30, 10, 11)}};
  const auto r = plan::evaluate_stage(p, p.stages[0], ev, 1h);
  CHECK_FALSE(r.passed);
  CHECK(gate(r, "min_requests", "list").why == "60 more requests to go");
  CHECK(gate(r, "parity", "list").why == "too few comparisons: 30 of 50");
  CHECK(gate(r, "no_traffic", "detail").state == plan::gate_state::waiting);  // no_traffic: wait
  CHECK(r.summary == "3 gate(s) waiting");
}

TEST_CASE("parity below the threshold fails without rolling back unless the plan says so", "[gates]") {
  const auto p = load();
  std::map<std::string, plan::route_evidence> ev{{"list", shadowed(500, 97.0, 500, 10, 11)},
                                                 {"detail", shadowed(500, 100, 500, 10, 11)}};
  const auto r = plan::evaluate_stage(p, p.stages[0], ev, 1h);
  CHECK(gate(r, "parity", "list").state == plan::gate_state::fail);
  CHECK_FALSE(r.passed);
  CHECK(r.breaches.empty());  // on_breach names error_rate and p99_ratio only
}

TEST_CASE("an error spike in a canary is a breach the plan rolls back on", "[gates]") {
  const auto p = load();
  plan::route_evidence e;
  e.requests = 1000;
  e.monolith = {900, 0, 10.0, 900};
  e.service = {100, 12, 11.0, 100};
  std::map<std::string, plan::route_evidence> ev{{"list", e}};
  const auto r = plan::evaluate_stage(p, p.stages[1], ev, 1h);
  CHECK(gate(r, "error_rate", "list").measured == "12.00 % (12 of 100)");
  REQUIRE(r.breaches.size() == 1);
  CHECK(r.breaches[0].gate == "error_rate");
  CHECK(gate(r, "no_traffic", "detail").state == plan::gate_state::pass);  // no_traffic: pass
  // Too few answers to judge: no breach on one failed request.
  e.service = {3, 1, 11.0, 3};
  ev["list"] = e;
  const auto early = plan::evaluate_stage(p, p.stages[1], ev, 1h);
  CHECK(early.breaches.empty());
  CHECK(gate(early, "error_rate", "list").why == "3 service answers; judged from 10");
}

TEST_CASE("cut-over latency is judged against the monolith before the stage, no traffic can fail", "[gates]") {
  const auto p = load();
  plan::route_evidence e;
  e.requests = 200;
  e.service = {200, 0, 30.0, 200};
  e.monolith_baseline_p99_ms = 10.0;
  e.baseline_count = 5000;
  std::map<std::string, plan::route_evidence> ev{{"list", e}};
  const auto r = plan::evaluate_stage(p, p.stages[2], ev, 1h);
  CHECK(gate(r, "p99_ratio", "list").state == plan::gate_state::fail);
  CHECK(gate(r, "p99_ratio", "list").measured.find("3.00×") == 0);
  CHECK(gate(r, "no_traffic", "detail").state == plan::gate_state::fail);
  CHECK(r.breaches.size() == 1);
}

TEST_CASE("evidence is read from the admin API's JSON", "[gates]") {
  const auto ev = plan::read_evidence(boost::json::parse(R"({"since_ms":1,"now_ms":2,"routes":{"list":{
    "requests":12,"monolith":{"requests":12,"errors":1,"p50":1,"p90":2,"p99":3.5,"latency_count":12},
    "service":{"requests":0,"errors":0,"p50":null,"p90":null,"p99":null,"latency_count":0},
    "monolith_baseline":{"p50":null,"p90":null,"p99":null,"latency_count":0},
    "shadow":{"parity":{"percent":91.5,"matched":11,"compared":12,"window":1000,"min_compared":10,"enough":true},
              "counts":{},"copies":12,"service_errors":2,
              "latency_ms":{"monolith":{"p99":3.5,"count":12},"service":{"p99":4.0,"count":11}}}}}})").as_object());
  const auto& e = ev.at("list");
  CHECK(e.requests == 12);
  CHECK(e.monolith.errors == 1);
  CHECK(*e.monolith.p99_ms == 3.5);
  CHECK_FALSE(e.service.p99_ms);
  CHECK(e.shadowed);
  CHECK(*e.parity_percent == 91.5);
  CHECK(e.parity_enough);
  CHECK(e.copy_errors == 2);
  CHECK(e.shadow_latency_count == 11);
}

namespace {
const std::string sync_plan_text = R"(plan: catalog-reads
services:
  catalog: http://127.0.0.1:8082
routes:
  - id: detail
    match: {methods: [GET], path: "/api/products/{id}"}
    service: catalog
stages:
  - name: shadow
    routes: {detail: shadow}
    gates: {sync_lag: {events: 10, seconds: 2s}, no_traffic: pass}
rollback: {on_breach: [sync_lag], to: shadow}
)";

const plan::gate_result& sync_gate(const plan::stage_evaluation& ev) {
  for (const auto& g : ev.gates)
    if (g.gate == "sync_lag") return g;
  FAIL("no sync_lag gate");
  throw 0;
}

plan::sync_figures following(std::int64_t lag_events, double lag_seconds) {
  plan::sync_figures s;
  s.service = "catalog";
  s.probed = s.answered = true;
  s.state = "following";
  s.lag_events = lag_events;
  s.lag_seconds = lag_seconds;
  s.age_ms = 1000;
  return s;
}
}  // namespace

TEST_CASE("gates: sync_lag waits for data, for the backfill and for lag, a stopped sync is a breach", "[gates][sync]") {
  plan::plan p;
  diagnostics d;
  REQUIRE(plan::parse_plan(sync_plan_text, "plan.yaml", p, d));
  const auto& stage = p.stages.front();
  std::map<std::string, plan::route_evidence> evidence;
  auto judge = [&] { return plan::evaluate_stage(p, stage, evidence, 1min); };

  // No sample at all: it says so, and waits (never a silent pass).
  auto ev = judge();
  CHECK(sync_gate(ev).state == plan::gate_state::waiting);
  CHECK(sync_gate(ev).why.find("no sync status") != std::string::npos);

  plan::route_evidence e;
  e.sync = plan::sync_figures{};
  e.sync->service = "catalog";
  e.sync->probed = true;
  e.sync->problem = "it does not answer GET /internal/sync (404): it publishes no sync status";
  evidence["detail"] = e;
  CHECK(sync_gate(judge()).why == "no sync status from catalog: " + e.sync->problem);

  e.sync = following(0, 0);
  e.sync->state = "backfilling";
  e.sync->rows_done = 1200;
  e.sync->rows_total = 10'000;
  evidence["detail"] = e;
  CHECK(sync_gate(judge()).why == "catalog is still backfilling (1200 of 10000 rows copied)");

  e.sync = following(25, 0.5);
  evidence["detail"] = e;
  ev = judge();
  CHECK(sync_gate(ev).state == plan::gate_state::waiting);
  CHECK(sync_gate(ev).why == "catalog is 15 events over the bound");
  CHECK(sync_gate(ev).measured == "25 events, 0.5 s");
  CHECK(sync_gate(ev).threshold == "≤ 10 events, ≤ 2.0 s");

  e.sync = following(3, 4.0);
  evidence["detail"] = e;
  CHECK(sync_gate(judge()).why == "catalog's oldest unapplied change is older than the bound");

  e.sync = following(3, 0.2);
  e.sync->age_ms = 60'000;
  evidence["detail"] = e;
  CHECK(sync_gate(judge()).why.find("last sync status is 1m 00s old") != std::string::npos);

  e.sync = following(3, 0.2);
  evidence["detail"] = e;
  ev = judge();
  CHECK(sync_gate(ev).state == plan::gate_state::pass);
  CHECK(ev.passed);

  e.sync->state = "stopped";
  e.sync->why = "feed gap: expected event 13, got 15";
  evidence["detail"] = e;
  ev = judge();
  CHECK(sync_gate(ev).state == plan::gate_state::fail);
  CHECK(sync_gate(ev).why == "catalog's sync stopped: feed gap: expected event 13, got 15");
  REQUIRE(ev.breaches.size() == 1);
  CHECK(ev.breaches[0].gate == "sync_lag");
}

TEST_CASE("gates: the evidence carries each route's service sync", "[gates][sync]") {
  const auto doc = boost::json::parse(R"({"routes":{"detail":{"requests":0,"service_sync":{
      "service":"catalog","probed":true,"answered":true,"problem":"","age_ms":800,
      "status":{"source":"http://m","entity":"product","state":"following","why":"","applied":10,"head":12,
                "lag_events":2,"lag_seconds":0.3,"source_reachable":true,"last_contact":"","events_applied":8,
                "events_ignored":2,"last_ignored":"","backfill":{"phase":"done","position":2,"rows_done":240,
                "rows_total":240,"rows_per_second":0,"started_at":"","copied_at":"","caught_up_at":""}}}}}})");
  const auto evidence = plan::read_evidence(doc.as_object());
  REQUIRE(evidence.at("detail").sync);
  const auto& s = *evidence.at("detail").sync;
  CHECK(s.answered);
  CHECK(s.state == "following");
  CHECK(s.lag_events == 2);
  CHECK(s.age_ms == 800);
  CHECK(s.rows_total == 240);
}

TEST_CASE("gates: foreign_writes judges the old owner's count once a service owns the writes", "[gates][sync]") {
  const std::string text = R"(plan: items-writes
services:
  items: http://127.0.0.1:8082
routes:
  - id: create
    match: {methods: [POST], path: /api/items}
    service: items
  - id: read
    match: {methods: [GET], path: /api/items}
    service: items
stages:
  - name: writes
    routes: {create: service, read: service}
    gates: {foreign_writes: 0, no_traffic: pass}
rollback: {on_breach: [foreign_writes], to: writes}
)";
  plan::plan p;
  diagnostics d;
  INFO(d.to_string());
  REQUIRE(plan::parse_plan(text, "plan.yaml", p, d));
  std::map<std::string, plan::route_evidence> evidence;
  auto gate = [&]() -> plan::gate_result {
    const auto ev = plan::evaluate_stage(p, p.stages.front(), evidence, 1min);
    int count = 0;
    plan::gate_result found;
    for (const auto& g : ev.gates)
      if (g.gate == "foreign_writes") {
        ++count;
        found = g;
      }
    CHECK(count == 1);  // the write route only: the read route takes no writes
    return found;
  };
  CHECK(gate().state == plan::gate_state::waiting);  // no sample: waits, says so
  plan::route_evidence e;
  e.sync = following(0, 0);
  e.sync->service = "monolith";
  evidence["create"] = e;
  auto g = gate();
  CHECK(g.state == plan::gate_state::waiting);  // an app publishing its own feed counts none
  CHECK(g.why == "monolith does not count foreign writes: its data needs banyan-sync (and the proxy's data: URL)");
  e.sync->foreign_writes = 0;
  evidence["create"] = e;
  CHECK(gate().state == plan::gate_state::pass);
  e.sync->foreign_writes = 3;
  evidence["create"] = e;
  g = gate();
  CHECK(g.state == plan::gate_state::fail);
  CHECK(g.measured == "3 changes");
  CHECK(g.why.find("3 changes to the moved tables in monolith's database were not made by banyan-sync") == 0);
  // Mistakes in the plan are named at their place.
  plan::plan bad;
  diagnostics bd;
  auto wrong = text;
  wrong.replace(wrong.find("foreign_writes: 0"), 17, "foreign_writes: -1");
  CHECK_FALSE(plan::parse_plan(wrong, "plan.yaml", bad, bd));
  CHECK(bd.to_string().find("plan.yaml:14:29: error: foreign_writes must be a whole number of changes") == 0);
}

TEST_CASE("a fleet's stage waits while an instance's evidence is missing, and says whose", "[gates]") {
  const auto p = load();
  std::map<std::string, plan::route_evidence> ev{{"list", shadowed(500, 99.8, 500, 10, 12)},
                                                 {"detail", shadowed(800, 100, 800, 5, 5.5)}};
  evidence::fleet_coverage all{3, 3, {}};
  auto r = plan::evaluate_stage(p, p.stages[0], ev, 11min, &all);
  CHECK(r.passed);
  CHECK(gate(r, "fleet", "").measured == "3 of 3 instances");
  evidence::fleet_coverage partial{3, 2, {{"edge-3", "cannot connect to http://10.0.1.3:9901"}}};
  r = plan::evaluate_stage(p, p.stages[0], ev, 11min, &partial);
  CHECK_FALSE(r.passed);
  CHECK(gate(r, "fleet", "").state == plan::gate_state::waiting);
  CHECK(gate(r, "fleet", "").why == "the evidence lacks edge-3 (cannot connect to http://10.0.1.3:9901)");
  CHECK(r.summary == "1 gate(s) waiting");
  // And from the admin API's answer: one proxy's evidence has no coverage at all.
  CHECK_FALSE(plan::read_fleet_coverage(boost::json::parse(R"({"routes":{}})").as_object()));
  const auto read = plan::read_fleet_coverage(
      boost::json::parse(R"({"routes":{},"fleet":{"asked":3,"answered":2,"missing":{"edge-3":"timeout"}}})").as_object());
  REQUIRE(read);
  CHECK(read->missing.at("edge-3") == "timeout");
}
