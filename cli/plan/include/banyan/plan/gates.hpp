#pragma once
#include "banyan/evidence/evidence.hpp"
// Judging a stage's gates on the evidence the proxy collected since the stage began. Pure: the
// CLI fetches GET /api/v1/evidence, reads it with read_evidence, and prints evaluate_stage's
// result (plan status), or acts on it (plan advance).
#include "banyan/plan/plan.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace banyan::plan {

// The route's service's data sync, as the proxy last sampled its GET /internal/sync.
struct sync_figures {
  std::string service;
  bool probed = false;    // the proxy has asked at least once
  bool answered = false;  // and got a sync status
  std::string problem;    // why not
  std::int64_t age_ms = 0;  // how old the sample is
  std::string state;      // backfilling | following | stopped
  std::string why;
  std::int64_t lag_events = 0;
  double lag_seconds = 0;
  bool source_reachable = true;
  std::int64_t rows_done = 0;
  std::optional<std::int64_t> rows_total;
  std::optional<std::int64_t> foreign_writes;  // banyan-sync's count since its fence went up
};

// A sample older than this is not trusted: the gate waits for a fresh one.
inline constexpr std::int64_t max_sync_sample_age_ms = 30'000;

// One side of a route's traffic since the stage began.
struct side_figures {
  std::int64_t requests = 0;
  std::int64_t errors = 0;  // 5xx answers and requests the proxy could not complete
  std::optional<double> p99_ms;
  std::int64_t latency_count = 0;
};

struct route_evidence {
  std::int64_t requests = 0;  // live requests on the route, either upstream
  side_figures monolith, service;
  std::optional<double> monolith_baseline_p99_ms;  // the monolith before the stage began
  std::int64_t baseline_count = 0;
  // Shadow (copies) since the stage began; absent when the route was not shadowed.
  bool shadowed = false;
  std::optional<double> parity_percent;
  std::int64_t compared = 0, min_compared = 0;
  bool parity_enough = false;
  std::int64_t copies = 0, copy_errors = 0;
  std::optional<double> shadow_monolith_p99_ms, shadow_service_p99_ms;
  std::int64_t shadow_latency_count = 0;  // the fewer of the two sides
  std::optional<sync_figures> sync;  // absent: the route has no service (or an old proxy)
};

// GET /api/v1/evidence's answer, by route id.
std::map<std::string, route_evidence> read_evidence(const boost::json::object& evidence);

enum class gate_state { pass, waiting, fail };
std::string_view to_string(gate_state s) noexcept;

struct gate_result {
  std::string gate;   // min_duration, min_requests, no_traffic, parity, error_rate, p99_ratio, sync_lag
  std::string route;  // empty for the stage as a whole
  gate_state state = gate_state::waiting;
  std::string measured;   // 12m 03s · 340 · 99.95 % · 0.40 % · 1.21×
  std::string threshold;  // 15m · 1000 · ≥ 99.9 % · ≤ 0.5 % · ≤ 1.5×
  std::string why;        // why it does not pass yet, or why it fails
  std::optional<double> value;
};

struct stage_evaluation {
  std::vector<gate_result> gates;
  bool passed = false;               // every gate passes: the stage may advance
  std::vector<gate_result> breaches;  // failing gates the plan's rollback names
  std::string summary;
};

// Error-rate and p99 gates are judged from this many answers on; below it they wait, so one slow
// or failed request cannot roll a stage back.
inline constexpr std::int64_t min_answers_to_judge = 10;

// `fleet`: a fleet's coverage of the evidence (docs/fleet.md); with an instance missing, the stage
// waits ("fleet" gate) — its traffic may be what a gate would fail on.
stage_evaluation evaluate_stage(const plan& p, const stage& s, const std::map<std::string, route_evidence>& evidence,
                                std::chrono::milliseconds in_stage, const evidence::fleet_coverage* fleet = nullptr);
// The fleet's coverage in GET /api/v1/evidence's answer; nullopt from one proxy.
std::optional<evidence::fleet_coverage> read_fleet_coverage(const boost::json::object& evidence);

// "12m 03s", "2h 05m", "45s"
std::string format_duration(std::chrono::milliseconds d);

}  // namespace banyan::plan
