#pragma once
// The evidence contract: what banyan-proxy's GET /api/v1/evidence answers and the CLI's gates are
// judged on, as one set of types with one encoder and one decoder (the proxy writes with to_json,
// the CLI reads with parse_evidence), so the JSON keys are spelled in one place. Round-trip tested.
//
// {"since_ms", "now_ms", "routes": {ID: {
//    "requests",
//    "monolith": {requests, errors, p50, p90, p99, latency_count}, "service": {…},
//    "monolith_baseline": {p50, p90, p99, latency_count},
//    "shadow": {"parity": {percent, matched, compared, window, min_compared, enough}, "counts": {…},
//               "copies", "service_errors", "latency_ms": {"monolith": {p50, p90, p99, count}, "service": …}}
//              or null,
//    "service_sync": {service, probed, answered, problem, age_ms, status?}   (service-backed routes)
// }}, "fleet": {asked, answered, missing: {INSTANCE: why}} (a fleet's combined evidence)}
// Every latency object may carry "histogram": [[bucket, count], …].
#include "banyan/evidence/latency_histogram.hpp"
#include "banyan/sync/sync_status.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace banyan::evidence {

// Latency percentiles in milliseconds (absent with no samples), how many samples, and the
// histogram they were read from (latency_histogram.hpp): what a fleet's evidence adds up.
struct latency_figures {
  std::optional<double> p50_ms, p90_ms, p99_ms;
  std::int64_t count = 0;
  latency_histogram histogram;  // empty from a proxy that did not send it
  bool operator==(const latency_figures&) const = default;
};
// The figures of a histogram: percentiles at the buckets' middles, rounded to a microsecond.
latency_figures figures_of(const latency_histogram& h);

// One upstream's live traffic on a route.
struct side_figures {
  std::int64_t requests = 0;
  std::int64_t errors = 0;  // 5xx answers and requests the proxy could not complete
  latency_figures latency;
  bool operator==(const side_figures&) const = default;
};

struct parity_figures {
  std::optional<double> percent;  // over the last `window` comparisons; absent before the first
  std::int64_t matched = 0, compared = 0, window = 0, min_compared = 0;
  bool enough = false;  // compared >= min_compared
  bool operator==(const parity_figures&) const = default;
};

struct shadow_figures {
  parity_figures parity;
  boost::json::object counts;  // the shadow report's counters (compared, too_large, dropped, …), as it writes them
  std::int64_t copies = 0, service_errors = 0;
  latency_figures monolith, service;  // of the copied requests, each side
  bool operator==(const shadow_figures&) const = default;
};

// A service's data sync as the proxy's health checks last sampled it.
struct sync_sample {
  std::string service;
  bool probed = false;    // asked at least once
  bool answered = false;  // answered with a sync status
  std::string problem;    // why not
  std::int64_t age_ms = 0;
  std::optional<sync::sync_status> status;
  bool operator==(const sync_sample& o) const;
};

struct route_evidence {
  std::int64_t requests = 0;  // live requests, either upstream
  side_figures monolith, service;
  latency_figures monolith_baseline;  // the monolith before the stage began
  std::optional<shadow_figures> shadow;  // absent: the route was not shadowed
  std::optional<sync_sample> sync;       // absent: the route has no service
  bool operator==(const route_evidence&) const = default;
};

// A fleet's evidence (docs/fleet.md): whose figures are in it, and who did not answer.
struct fleet_coverage {
  std::int64_t asked = 0, answered = 0;
  std::map<std::string, std::string> missing;  // instance → why it is not in the figures
  bool operator==(const fleet_coverage&) const = default;
};

struct evidence_doc {
  std::int64_t since_ms = 0, now_ms = 0;
  std::map<std::string, route_evidence> routes;
  std::optional<fleet_coverage> fleet;  // absent: one proxy's own evidence
  bool operator==(const evidence_doc&) const = default;
};

// The whole fleet's evidence from each instance's: counts summed, latency from the summed
// histograms (never an average of percentiles), parity over the union of the comparisons, the
// freshest answered sync sample. `docs` must not be empty.
evidence_doc combine(const std::vector<evidence_doc>& docs);

boost::json::object to_json(const evidence_doc& e);
boost::json::object to_json(const latency_figures& l, const char* count_key);
boost::json::object to_json(const sync_sample& s);
boost::json::object to_json(const fleet_coverage& c);
// Reads what to_json writes. Lenient by design (a newer proxy may add keys, an older one lack
// some): a missing or mistyped figure reads as absent or zero; a sync status that does not parse
// makes the sample unanswered, with the parse error as its problem.
evidence_doc parse_evidence(const boost::json::object& o);
// Parts, for writers that hold them in this shape already (the shadow report).
latency_figures parse_latency(const boost::json::object& o, const char* count_key);
parity_figures parse_parity(const boost::json::object& o);

}  // namespace banyan::evidence
