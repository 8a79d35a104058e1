#pragma once
// Shadow results in the proxy's state database (<state_dir>/banyan.db, tables shadow_*): one row
// per comparison, learned noise with its evidence, counters of what was not compared, and a few
// redacted sample pairs per differing path. Written only by the recorder's thread.
#include "banyan/platform/sqlite.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace banyan::shadow {

struct comparison_record {
  std::string route;
  std::int64_t at_ms = 0;  // Unix time
  std::string request_id;
  std::string method;
  std::string target;
  std::string outcome;  // compared | too_large | no_answer
  int monolith_status = 0;  // 0: no answer
  int service_status = 0;
  double monolith_ms = 0;
  double service_ms = 0;
  // Each differing place as "KIND PATH" (aggregate path), kind from to_string(diff_kind).
  std::vector<std::string> paths;
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
  std::vector<comparison_record> comparisons;
  std::vector<sample_record> samples;
  std::vector<noise_record> noise;      // increments: seen adds, examples replace
  std::vector<counter_record> counters;  // increments
  bool empty() const noexcept { return comparisons.empty() && samples.empty() && noise.empty() && counters.empty(); }
};

class shadow_store {
 public:
  // Opens (and migrates) the database at `path`. Throws sqlite::error.
  explicit shadow_store(const std::string& path);

  // One transaction; throws sqlite::error (the caller keeps the batch to retry).
  void write(const store_batch& batch, std::size_t max_rows_per_route);

  // Reads, for reports. `route` empty: every route.
  std::vector<comparison_record> comparisons(const std::string& route, std::int64_t since_ms);
  std::vector<sample_record> samples(const std::string& route);
  std::vector<noise_record> noise(const std::string& route);
  std::vector<counter_record> counters(const std::string& route);
  // How many samples each (route, path) holds, for the recorder's cap.
  std::map<std::pair<std::string, std::string>, int> sample_counts();

 private:
  banyan::sqlite::connection db_;
  std::uint64_t writes_ = 0;
};

}  // namespace banyan::shadow
