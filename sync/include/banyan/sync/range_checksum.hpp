#pragma once
// Checksums of an entity's rows by key range, served by the side that keeps them, so `banyan data
// verify` compares two sides a range at a time and reads rows only where a range differs (as
// Vitess's VDiff and pt-table-checksum do) — instead of paging every row of both listings over
// HTTP (8,400 rows/s, bound by offset paging: docs/performance.md).
//
//   GET /internal/checksum/ENTITY?after=K&through=K&limit=N&ignore=F,…&rows=1
//     → {"key_field":"id", "rows":n, "checksum":"16 hex digits", "last":K|null, "done":bool,
//        "fields":["id",…], "items":[{"key":"7","checksum":"…"}] (with rows=1)}
//
// The rows with an integer key > after (from the first when absent) and ≤ through (no bound when
// absent), in key order, at most `limit` (1–100000, default 10000). A row is the JSON object the
// entity's listing shows for it; its checksum is row_checksum (canonical JSON, ignored fields left
// out) and a range's is the sum of its rows' (mod 2^64) with the count beside it. `done`: no row
// of the range is left after `last`.
#include "banyan/platform/expected.hpp"
#include "banyan/platform/http_message.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace banyan::sync {

// Names of top-level fields left out of a row's checksum.
using ignore_set = std::set<std::string, std::less<>>;

// Canonical text of a row: objects with members in key order (recursively), ignored top-level
// fields dropped; numbers as Boost.JSON writes them, so 1 and 1.0 differ as they do on the wire.
std::string canonical_text(const boost::json::object& row, const ignore_set& ignore);
void append_canonical(std::string& out, const boost::json::value& v);  // one value, the same way
std::uint64_t row_checksum(const boost::json::object& row, const ignore_set& ignore);

struct checksum_query {
  std::optional<std::int64_t> after, through;
  int limit = 10'000;
  bool rows = false;  // list each row's key and checksum too
  ignore_set ignore;
};
// 400 (invalid_query, naming the parameter) for a query it cannot read.
expected<checksum_query, http::response> read_checksum_query(const http::request& req);

// The entity's reader: calls `each` for the rows of the query's range in key order, at most
// `limit` of them (it is asked for one more than the answer holds, to tell `done`).
using row_visitor = std::function<void(std::int64_t key, const boost::json::object& row)>;
using range_reader = std::function<void(const checksum_query& q, int limit, const row_visitor& each)>;

// The whole GET /internal/checksum/ENTITY.
http::response serve_range_checksum(const http::request& req, std::string_view key_field, const range_reader& read);

// A checksum as the protocol writes it (16 lowercase hex digits), and back (nullopt when malformed).
std::string checksum_hex(std::uint64_t sum);
std::optional<std::uint64_t> parse_checksum_hex(std::string_view text);

}  // namespace banyan::sync
