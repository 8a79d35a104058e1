#pragma once
// Compares the monolith's and the service's answers to one request: status, selected headers and
// body (JSON structurally, anything else by bytes), under a route's compare rules. Pure.
#include "banyan/proxy/route_table.hpp"
#include "banyan/shadow/json_diff.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace banyan::shadow {

// One side's answer as the shadow machinery captured it.
struct captured_response {
  int status = 0;           // 0: no answer at all
  std::string failure;      // why there is no answer (connect refused, timeout, malformed…)
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;         // the payload, chunked framing removed
  bool too_large = false;   // the body passed the compare limit: not captured whole
  double seconds = 0;       // request sent → response complete

  std::string_view header(std::string_view lower_name) const noexcept;
};

// Reads a raw response (head and body as received) into `out`; false with `why` when it is not a
// complete, well-formed HTTP/1.1 response.
bool parse_captured(std::string_view raw, std::string_view request_method, captured_response& out, std::string& why);
// Removes chunked framing; false when the framing is broken.
bool dechunk(std::string_view raw, std::string& out);

// A route's compare settings, checked and compiled.
struct compare_rules {
  json_diff_options json;
  std::vector<std::string> headers;         // lower case; compared on every exchange
  std::vector<std::string> redact_headers;  // lower case; values never stored

  // False with one message per bad JSON path.
  static bool compile(const proxy::compare_settings& settings, compare_rules& out, std::vector<std::string>& problems);
};

struct comparison {
  enum class outcome { compared, too_large, no_answer };
  outcome result = outcome::compared;
  std::vector<difference> differences;  // empty: the answers match
};

comparison compare_responses(const captured_response& monolith, const captured_response& service,
                             const compare_rules& rules);

// True for header names whose values are never stored (besides the rules' own list).
bool is_sensitive_header(std::string_view lower_name, const compare_rules& rules) noexcept;

}  // namespace banyan::shadow
