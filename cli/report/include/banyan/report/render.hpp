#pragma once
// The shadow report (as GET /api/v1/shadow/report returns it) for people and machines: text for
// the terminal, a self-contained HTML page, and JUnit XML so a CI job can fail on a parity drop.
// Pure: JSON in, text out.
#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace banyan::report {

// A route's parity judged against a threshold.
struct verdict {
  std::string route;
  enum class kind { pass, fail, not_enough_data } result = kind::pass;
  std::string message;
};
std::vector<verdict> judge(const boost::json::object& report, double min_parity);

std::string render_text(const boost::json::object& report, double min_parity);
std::string render_html(const boost::json::object& report, double min_parity);
std::string render_junit(const boost::json::object& report, double min_parity);

// Shared formatting helpers (exposed for the CLI's other tables).
std::string format_percent(const boost::json::value& v);  // "99.5 %" or "—"
std::string format_time_ms(std::int64_t unix_ms);          // 2026-11-22T02:41:09Z

}  // namespace banyan::report
