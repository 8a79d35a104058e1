#include "commands/shadow_commands.hpp"

#include "banyan/plan/plan.hpp"
#include "banyan/platform/clock.hpp"
#include "banyan/platform/yaml_reader.hpp"
#include "banyan/report/render.hpp"
#include "commands/admin_client.hpp"
#include "commands/validators.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <chrono>
#include <fstream>
#include <memory>

namespace banyan::cli {

namespace json = boost::json;

bool parse_since(const std::string& text, std::int64_t now_ms, std::int64_t& out) {
  std::chrono::milliseconds ago{};
  if (parse_duration(text, ago)) {
    out = now_ms - ago.count();
    return true;
  }
  std::chrono::system_clock::time_point t;
  if (!parse_rfc3339(text, t)) return false;
  out = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return true;
}

namespace {

// The parity a report is judged by: the option, else the live plan's current stage gate, else 99.
double parity_threshold(const shadow_report_options& options, admin_client& admin) {
  if (options.min_parity) return *options.min_parity;
  const auto reply = admin.call("GET", "/api/v1/plan");
  if (reply.status == 200 && reply.body.is_object()) {
    plan::plan p;
    diagnostics diags;
    const auto& o = reply.body.as_object();
    if (plan::parse_plan(std::string(o.at("document").as_string()), std::string(o.at("name").as_string()), p, diags))
      if (const auto* s = p.find_stage(std::string(o.at("stage").as_string())); s && s->gate.parity_percent)
        return *s->gate.parity_percent;
  }
  return 99.0;
}

}  // namespace

int run_shadow_report(const shadow_report_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err) {
  const std::string format = options.format.empty() ? (global.json() ? "json" : "text") : options.format;
  const auto now = unix_ms();
  std::int64_t since = 0;
  if (!options.since.empty() && !parse_since(options.since, now, since)) {
    err << "banyan: --since: expected a duration such as 30m or 2h, or a time such as 2026-11-22T10:00:00Z, got '"
        << options.since << "'\n";
    return exit_bad_input;
  }
  return with_admin(global, err, [&](admin_client& admin) -> int {
    std::string target = "/api/v1/shadow/report?window=" + std::to_string(options.window) +
                         "&min_compared=" + std::to_string(options.min_compared) + "&since_ms=" + std::to_string(since);
    if (!options.route.empty()) target += "&route=" + boost::urls::encode(options.route, boost::urls::unreserved_chars);
    const auto reply = admin.call("GET", target);
    if (reply.status != 200 || !reply.body.is_object()) {
      err << "banyan: " << error_text(reply) << '\n';
      return reply.status == 401 || reply.status == 400 ? exit_bad_input : exit_check_failed;
    }
    const auto& report = reply.body.as_object();
    if (!options.route.empty() && report.at("routes").as_array().empty()) {
      err << "banyan: no shadow results for route '" << options.route
          << "': is it in shadow mode (or a service route with reverse shadow), and has it had traffic?\n";
      return exit_check_failed;
    }
    const double threshold = parity_threshold(options, admin);
    std::string text;
    if (format == "json") text = json::serialize(report) + "\n";
    else if (format == "html") text = report::render_html(report, threshold);
    else if (format == "junit") text = report::render_junit(report, threshold);
    else text = report::render_text(report, threshold);
    if (options.file.empty()) {
      out << text;
    } else {
      std::ofstream f(options.file, std::ios::binary | std::ios::trunc);
      if (!(f << text) || !f.flush()) {
        err << "banyan: cannot write " << options.file << '\n';
        return exit_bad_input;
      }
      out << "wrote " << options.file << '\n';
    }
    // A parity drop is a failed check: CI jobs fail on it (not on too little data).
    for (const auto& v : report::judge(report, threshold))
      if (v.result == report::verdict::kind::fail) return exit_check_failed;
    return exit_ok;
  });
}

void setup_shadow(CLI::App& app, const global_options& global, int& result) {
  auto* shadow = app.add_subcommand("shadow", "Shadow traffic results");
  shadow->require_subcommand(1);
  auto opts = std::make_shared<shadow_report_options>();
  auto* report = shadow->add_subcommand("report", "Parity per route, differing paths, learned noise, latency");
  report->add_option("--route", opts->route, "only this route");
  report->add_option("--since", opts->since, "only results since: a duration ago (30m, 2h) or a time (RFC 3339, UTC)");
  report->add_option("--format", opts->format, "text, json, html (self-contained page) or junit (XML for CI)")
      ->check(CLI::IsMember({"text", "json", "html", "junit"}));
  report->add_option("--output", opts->file, "write to FILE instead of the terminal");
  report->add_option("--min-parity", opts->min_parity,
                     "parity (percent) below which a route fails, exit 1 (default: the plan stage's gate, else 99)")
      ->check(between(0, 100));
  report->add_option("--window", opts->window, "parity over the last N compared requests")
      ->check(between(1, 1'000'000))
      ->capture_default_str();
  report->add_option("--min-compared", opts->min_compared, "fewer compared requests than this give no verdict")
      ->check(between(0, 1'000'000))
      ->capture_default_str();
  report->footer(
      "Examples:\n"
      "  banyan shadow report\n"
      "  banyan shadow report --route product-detail --since 2h\n"
      "  banyan shadow report --format html --output shadow.html\n"
      "  banyan shadow report --format junit --output parity.xml --min-parity 99.5   # exit 1 on a drop");
  report->callback([opts, &global, &result] { result = run_shadow_report(*opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
