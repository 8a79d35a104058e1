#pragma once
// `banyan data verify` by key-range checksums: when both sides serve GET /internal/checksum/ENTITY
// (banyan/sync/range_checksum.hpp), ranges of rows are compared by one checksum each, and only a
// range that differs is listed row by row (key and checksum) — the rows read in full afterwards are
// only the differing ones. Sides that do not serve it are compared through their listings.
#include "commands/data_commands.hpp"

#include "banyan/platform/http_client.hpp"
#include "banyan/verify/entity_diff.hpp"

#include <boost/json/array.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace banyan::cli {

struct range_answer {
  std::int64_t rows = 0;
  std::uint64_t checksum = 0;
  std::optional<std::int64_t> last;
  bool done = true;
  boost::json::array items, fields;
};

// One side's GET /internal/checksum/ENTITY.
class range_side {
 public:
  range_side(std::string url, const std::string& entity, const verify::ignore_set& ignore);
  ~range_side();
  // The answer, or nullopt: with failure_code set (unreachable, not a range checksum), or with
  // not_served (404/405).
  std::optional<range_answer> ask(std::optional<std::int64_t> after, std::optional<std::int64_t> through, int limit,
                                  bool rows);
  // One row's checksum (an inner nullopt: the side has no such row); nullopt on a failure.
  std::optional<std::optional<std::uint64_t>> row(const std::string& key);
  const std::string& url() const { return url_; }

  bool not_served = false;
  std::string key_field;  // as the side last answered it
  int failure_code = 0;
  std::string failure;

 private:
  std::string url_;
  http::client client_;
  std::string base_, ignore_;
};

struct range_comparison {
  bool served = false;  // both sides answer range checksums keyed by --key
  int failure_code = 0;  // exit code when a side failed midway (then `failure` says why)
  std::string failure;
  std::atomic<std::size_t> from_rows{0}, to_rows{0};
  std::size_t equal_in_ranges = 0;             // rows in ranges whose checksums agreed
  std::size_t ranges = 0, ranges_differing = 0;
  verify::side_digest from, to;                // per row, for the ranges that differ
  std::set<std::string> fields;                // the fields a row is listed with (what is compared)
};

// Whether both sides serve range checksums; then compares them (progress to `err` every 2 s).
void compare_by_ranges(const data_verify_options& o, const verify::ignore_set& ignore, range_comparison& out,
                       std::ostream& err);

}  // namespace banyan::cli
