#pragma once
// The shadow report, built from recorded comparisons: parity per route over a window of recent
// comparisons (learned noise excluded), the places that differ with samples, learned noise with
// its evidence, a status confusion matrix, each side's latency, parity over time, and what was
// not compared and why. Pure: the admin API reads the store and serves this as JSON; the CLI
// renders it as text, HTML or JUnit.
#include "banyan/shadow/shadow_store.hpp"

#include "banyan/evidence/evidence.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace banyan::shadow {

struct report_options {
  std::string route;          // empty: every route
  std::int64_t since_ms = 0;  // only comparisons at or after this time
  std::size_t window = 1000;  // parity over the last N compared requests (to the second)
  std::size_t min_compared = 100;  // below this, parity is "not enough data"
  std::int64_t now_ms = 0;
  std::size_t timeline_buckets = 24;
};

// Whether a place counts as learned noise: the monolith's own two answers (a noise probe) differed
// there in at least a tenth of the route's probes. A timestamp differs in most probes (not all: two
// answers within one millisecond carry the same one); a value that a concurrent write changed
// between the two asks differs in one probe of hundreds, and must not make the place noise for
// good (a price learned as noise hid a pricing bug from the demo's shadow stage).
inline bool is_learned_noise(std::int64_t differed, std::int64_t probes) noexcept {
  return probes > 0 && differed * 10 >= probes;
}

struct report_input {
  std::vector<result_row> results;  // oldest second first
  std::vector<latency_row> latency;
  std::vector<sample_record> samples;
  std::vector<noise_record> noise;
  std::vector<counter_record> counters;
};

boost::json::object build_report(const report_input& in, const report_options& options);
// Several instances' reports of one fleet as one (docs/fleet.md): counts, parity and the status
// matrix added, differing paths added by path with every instance's samples, learned noise united,
// latency from the summed histograms, the timelines' slices in time order. Not empty.
boost::json::object merge_reports(const std::vector<boost::json::object>& reports);

// What plan gates are judged on, per route, since a stage began.
struct evidence_input {
  std::vector<traffic_row> traffic;             // since the stage began
  std::vector<latency_row> traffic_latency;     // since the stage began (side = upstream)
  std::vector<latency_row> baseline_latency;    // before it: the monolith's latency as it was
  boost::json::object shadow;                   // build_report over the same time
  std::int64_t since_ms = 0, now_ms = 0;
};
// Per route: live traffic of each side, the monolith's baseline latency, and the shadow figures
// (banyan/evidence/evidence.hpp, the contract). Errors are 5xx answers and requests the proxy could
// not complete.
evidence::evidence_doc build_evidence(const evidence_input& in);

// The place part of a recorded "KIND PATH" entry, and its kind.
std::string_view place_of(std::string_view entry) noexcept;
std::string_view kind_of(std::string_view entry) noexcept;

}  // namespace banyan::shadow
