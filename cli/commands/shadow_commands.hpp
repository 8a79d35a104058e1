#pragma once
// banyan shadow report: what shadow traffic found, as text, JSON, HTML or JUnit XML.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace banyan::cli {

struct shadow_report_options {
  std::string route;
  std::string since;   // a duration ago (30m, 2h) or an RFC 3339 UTC time (2026-11-22T10:00:00Z)
  std::string format;  // text | json | html | junit; default text (json with the global --output json)
  std::string file;    // --output FILE; stdout when empty
  std::optional<double> min_parity;  // default: the plan stage's parity gate, else 99
  int window = 1000;
  int min_compared = 100;
};

void setup_shadow(CLI::App& app, const global_options& global, int& result);
int run_shadow_report(const shadow_report_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err);

// Unix milliseconds for --since: "30m"/"2h" ago, or an RFC 3339 UTC time. False when neither.
bool parse_since(const std::string& text, std::int64_t now_ms, std::int64_t& out);

}  // namespace banyan::cli
