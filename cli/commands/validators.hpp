#pragma once
// Option checks that speak the CLI's own words ("--percent: must be from 0 to 100, got 150")
// rather than CLI11's ("Value 150 not in range 0.000000 to 100.000000").
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <string>

namespace banyan::cli {

// Integral bounds print as integers, others with the digits they need.
inline std::string number_text(double v) {
  char buf[32];
  if (v == static_cast<double>(static_cast<long long>(v))) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A number from lo to hi, both included.
inline CLI::Validator between(double lo, double hi) {
  const std::string range = "from " + number_text(lo) + " to " + number_text(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size()) return "must be a number " + range + ", got '" + text + "'";
        if (v < lo || v > hi) return "must be " + range + ", got " + text;
        return {};
      },
      range);
}

}  // namespace banyan::cli
