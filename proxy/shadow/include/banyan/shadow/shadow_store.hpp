#pragma once
// Shadow results in the proxy's state database (<state_dir>/banyan.db, tables shadow_*): one row
// per comparison, learned noise with its evidence, counters of what was not compared, and a few
// redacted sample pairs per differing path. Written only by the recorder's thread.
#include "banyan/platform/sqlite.hpp"
#include "banyan/shadow/latency_buckets.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::shadow {

// Comparisons are kept aggregated: per route and second, one row per distinct outcome (the set
// of differing places and the two status classes) with its count. Most comparisons of a route look
// alike, so a busy route writes a handful of rows per second instead of one per request, and the
// parity of any window can still be recomputed when noise is learned later.
struct result_key {
  std::string route;
  std::int64_t second = 0;  // Unix time
  std::string outcome;      // compared | too_large | no_answer
  std::string paths;        // "KIND PATH" lines, sorted; empty: the answers matched
  std::string monolith_class, service_class;  // 2xx… or "none"
  auto operator<=>(const result_key&) const = default;
};

struct result_row {
  result_key key;
  std::int64_t count = 0;
  std::vector<std::string> path_list() const;  // the "KIND PATH" entries
};

// Each side's latency, as a log-scale histogram per route and second (latency_buckets.hpp).
struct latency_key {
  std::string route;
  std::int64_t second = 0;
  std::string side;  // monolith | service
  int bucket = 0;
  auto operator<=>(const latency_key&) const = default;
};

struct latency_row {
  latency_key key;
  std::int64_t count = 0;
};

// Live traffic per route and second, the evidence error-rate and latency gates use: requests by
// upstream (monolith | service) and status class ("error": the proxy could not complete it), and
// latency histograms by upstream. Harvested from the data plane's counters.
struct traffic_key {
  std::string route;
  std::int64_t second = 0;
  std::string upstream;
  std::string status_class;
  auto operator<=>(const traffic_key&) const = default;
};
struct traffic_row {
  traffic_key key;
  std::int64_t count = 0;
};

struct sample_record {
  std::string route;
  std::string path;  // aggregate
  std::string where; // concrete
  std::string kind;
  std::int64_t at_ms = 0;
  std::string request_id;
  std::string method;
  std::string target;
  std::string monolith_value;
  std::string service_value;
  std::string request;            // the copy's request head, sensitive headers redacted
  std::string monolith_response;  // status line, headers and body, redacted
  std::string service_response;
};

struct noise_record {
  std::string route;
  std::string path;  // aggregate
  std::int64_t seen = 0;  // monolith re-asks in which it differed
  std::string example_a, example_b;
  std::int64_t first_at_ms = 0, last_at_ms = 0;
};

struct counter_record {
  std::string route;
  std::string name;  // skipped_writes, dropped, too_large, no_answer, noise_probes, sampled_out
  std::int64_t value = 0;
};

struct store_batch {
  std::map<result_key, std::int64_t> results;  // increments
  std::map<latency_key, std::int64_t> latency;
  std::map<traffic_key, std::int64_t> traffic;          // increments
  std::map<latency_key, std::int64_t> traffic_latency;  // side = upstream
  std::vector<sample_record> samples;
  std::vector<noise_record> noise;      // increments: seen adds, examples replace
  std::vector<counter_record> counters;  // increments
  bool empty() const noexcept {
    return results.empty() && latency.empty() && traffic.empty() && traffic_latency.empty() && samples.empty() &&
           noise.empty() && counters.empty();
  }
};

class shadow_store {
 public:
  // Opens (and migrates) the database at `path`. Throws sqlite::error.
  explicit shadow_store(const std::string& path);

  // One transaction; throws sqlite::error (the caller keeps the batch to retry). Results and
  // latency older than `retention_seconds` are pruned now and then.
  void write(const store_batch& batch, std::int64_t retention_seconds);

  // Reads, for reports. `route` empty: every route.
  std::vector<result_row> results(const std::string& route, std::int64_t since_second);
  std::vector<latency_row> latency(const std::string& route, std::int64_t since_second);
  std::vector<traffic_row> traffic(const std::string& route, std::int64_t from_second, std::int64_t to_second);
  std::vector<latency_row> traffic_latency(const std::string& route, std::int64_t from_second, std::int64_t to_second);
  std::vector<sample_record> samples(const std::string& route);
  std::vector<noise_record> noise(const std::string& route);
  std::vector<counter_record> counters(const std::string& route);
  // How many samples each (route, path) holds, for the recorder's cap.
  std::map<std::pair<std::string, std::string>, int> sample_counts();

 private:
  std::vector<latency_row> latency_rows(std::string_view table, std::string_view side_column, const std::string& route,
                                        std::int64_t from_second, std::int64_t to_second);
  banyan::sqlite::connection db_;
  std::uint64_t writes_ = 0;
};

}  // namespace banyan::shadow
