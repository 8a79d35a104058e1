#pragma once
// `banyan data verify`'s judgement, without sockets: each side's rows reduced to a checksum per key
// (canonical JSON: members sorted, ignored fields left out), the two key sets compared, and the
// fields two versions of a row differ in. Rows are JSON objects as any HTTP API lists them.
#include "banyan/sync/range_checksum.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace banyan::verify {

// Names of top-level fields left out of every comparison (--ignore), and a row's checksum: the
// same the sides compute for their key ranges (banyan/sync/range_checksum.hpp).
using ignore_set = sync::ignore_set;
using sync::canonical_text;
using sync::row_checksum;

// The key of a row as text ("7" for 7 and for "7"); nullopt when the row has no such field or it
// is not a string or an integer.
std::optional<std::string> row_key(const boost::json::object& row, std::string_view key_field);

struct field_difference {
  std::string field;
  std::string from;  // the value as JSON text; "absent" when the side lacks it
  std::string to;
};
// The top-level fields whose values differ (ignored ones skipped), in field order.
std::vector<field_difference> differing_fields(const boost::json::object& from, const boost::json::object& to,
                                               const ignore_set& ignore);

// One side's checksums as it was read.
class side_digest {
 public:
  // False when the key was already seen on this side (an API listing a row twice while paging:
  // the caller reports it).
  bool add(std::string key, std::uint64_t checksum);
  std::size_t size() const noexcept { return rows_.size(); }
  const std::map<std::string, std::uint64_t>& rows() const noexcept { return rows_; }

 private:
  std::map<std::string, std::uint64_t> rows_;
};

struct key_diff {
  std::vector<std::string> missing_on_to;    // on the from side only
  std::vector<std::string> missing_on_from;  // on the to side only
  std::vector<std::string> differ;           // on both, checksums differ
  std::size_t equal = 0;
  bool empty() const noexcept { return missing_on_to.empty() && missing_on_from.empty() && differ.empty(); }
};
key_diff compare(const side_digest& from, const side_digest& to);

// Keys in a natural order: numbers by value, then text.
bool key_less(const std::string& a, const std::string& b);

}  // namespace banyan::verify
