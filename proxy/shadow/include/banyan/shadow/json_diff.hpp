#pragma once
// Structural comparison of two JSON documents: the monolith's answer (left) and the service's
// (right). Every difference names its concrete JSON path and its kind. Pure, allocation-light, and
// meant to run off the request path (the shadow recorder's thread).
#include "banyan/shadow/json_doc.hpp"
#include "banyan/shadow/json_path.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::shadow {

enum class diff_kind : std::uint8_t {
  value_changed,
  type_changed,
  missing,       // in the monolith's answer, not in the service's
  extra,         // in the service's answer only
  array_length,
  order_only,    // the same elements in another order
  not_json,      // one side is not valid JSON
  bytes_differ,  // non-JSON bodies
  stale,         // the object's version differs: one side had not caught up; its members were not compared
};
std::string_view to_string(diff_kind k) noexcept;

struct difference {
  std::string where;      // $.items[3].price, "status", "header content-type", "body"
  std::string aggregate;  // where counts are kept: $.items[*].price
  diff_kind kind = diff_kind::value_changed;
  std::string monolith;   // each side's value, short and redacted ("" when absent)
  std::string service;
};

// An array compared as a set of objects matched by a key field instead of by position.
struct unordered_rule {
  path_pattern array;
  std::string key;
};

struct json_diff_options {
  std::vector<path_pattern> ignore;
  std::vector<path_pattern> redact;  // values shown as "[redacted]", never stored
  double tolerance = 0;              // numbers within this absolute distance are equal
  std::vector<unordered_rule> unordered;
  std::size_t max_differences = 50;  // per comparison; the rest are not listed
  // compare_settings::version: objects whose member of this name differs between the sides get
  // one `stale` difference at that member, and nothing else of them is compared.
  std::string version_member;
};

// Appends the differences between `monolith` and `service` to `out`. Both must be parsed.
void diff_json(const json_doc& monolith, const json_doc& service, const json_diff_options& options,
               std::vector<difference>& out);

// The document as compact JSON with every value under a `redact` path replaced, cut at `max_bytes`.
std::string redacted_json(const json_doc& doc, const std::vector<path_pattern>& redact, std::size_t max_bytes);

// Numeric equality on JSON number text: exact for integers of any size, within `tolerance`
// otherwise (1.0 equals 1).
bool numbers_equal(std::string_view a, std::string_view b, double tolerance) noexcept;

}  // namespace banyan::shadow
