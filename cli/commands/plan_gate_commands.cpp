#include "commands/plan_gate_commands.hpp"

#include "commands/cutover_text.hpp"

#include "banyan/plan/gates.hpp"
#include "banyan/platform/clock.hpp"
#include "banyan/platform/yaml_reader.hpp"
#include "banyan/proxy/bucket.hpp"
#include "commands/admin_client.hpp"
#include "commands/plan_progress.hpp"
#include "commands/route_commands.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>
#include <atomic>
#include <csignal>
#include <iomanip>
#include <memory>
#include <sstream>
#include <thread>

namespace banyan::cli {

namespace json = boost::json;

namespace {

std::atomic<bool> interrupted{false};

// Where a plan stands: the plan, its stage, the evidence since the stage began, and the verdict.
struct standing {
  applied_plan applied;
  std::map<std::string, plan::route_evidence> evidence;
  std::optional<evidence::fleet_coverage> fleet;  // a fleet's: whose evidence it is
  plan::stage_evaluation verdict;
  std::chrono::milliseconds in_stage{0};
  json::value routes;  // GET /api/v1/routes: the services' health, for shares the monolith is serving
  json::value cutover;  // GET /api/v1/cutover: a barrier holding writes now, or the last one
};

int judge(admin_client& admin, standing& s, std::ostream& err) {
  if (const int code = load_applied_plan(admin, s.applied, err); code != exit_ok) return code;
  const plan::stage& stage = *s.applied.current();
  const auto since_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(s.applied.stage_entered_at.time_since_epoch()).count();
  // Parity needs as many comparisons as the stage asks requests (100 when it does not say).
  const auto min_compared = stage.gate.min_requests.value_or(100);
  const auto window = std::max<std::uint64_t>(1000, min_compared);
  const auto reply =
      admin.call("GET", "/api/v1/evidence?since_ms=" + std::to_string(since_ms) + "&window=" + std::to_string(window) +
                            "&min_compared=" + std::to_string(min_compared));
  if (reply.status != 200 || !reply.body.is_object()) {
    err << "banyan: " << error_text(reply) << '\n';
    return exit_check_failed;
  }
  s.evidence = plan::read_evidence(reply.body.as_object());
  s.fleet = plan::read_fleet_coverage(reply.body.as_object());
  if (const auto routes = admin.call("GET", "/api/v1/routes"); routes.status == 200) s.routes = routes.body;
  if (const auto cutover = admin.call("GET", "/api/v1/cutover"); cutover.status == 200) s.cutover = cutover.body;
  s.in_stage = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() -
                                                                     s.applied.stage_entered_at);
  s.verdict = plan::evaluate_stage(s.applied.plan, stage, s.evidence, s.in_stage, s.fleet ? &*s.fleet : nullptr);
  return exit_ok;
}

std::size_t stage_index(const applied_plan& a) {
  std::size_t i = 0;
  while (i < a.plan.stages.size() && a.plan.stages[i].name != a.stage) ++i;
  return i;
}

json::object standing_json(const standing& s) {
  json::array gates;
  for (const auto& g : s.verdict.gates)
    gates.push_back(json::object{{"gate", g.gate},
                                 {"route", g.route},
                                 {"state", std::string(plan::to_string(g.state))},
                                 {"measured", g.measured},
                                 {"value", g.value ? json::value(*g.value) : json::value()},
                                 {"threshold", g.threshold},
                                 {"why", g.why}});
  json::array routes;
  for (const auto& r : s.applied.plan.routes_at(*s.applied.current()))
    routes.push_back(json::object{{"id", r.id}, {"setting", describe_setting(r)}});
  json::array breaches;
  for (const auto& b : s.verdict.breaches) breaches.push_back(json::object{{"gate", b.gate}, {"route", b.route}});
  const auto i = stage_index(s.applied);
  return {{"plan", s.applied.plan.name},
          {"stage", s.applied.stage},
          {"stage_number", i + 1},
          {"stages", s.applied.plan.stages.size()},
          {"stage_entered_at", format_rfc3339(s.applied.stage_entered_at)},
          {"in_stage_ms", s.in_stage.count()},
          {"routes", std::move(routes)},
          {"write_owners", s.routes.is_object() && s.routes.as_object().contains("write_owners")
                               ? s.routes.at("write_owners")
                               : json::value()},
          {"cutover", s.cutover},
          {"gates", std::move(gates)},
          {"passed", s.verdict.passed},
          {"breaches", std::move(breaches)},
          {"summary", s.verdict.summary},
          {"next_stage",
           i + 1 < s.applied.plan.stages.size() ? json::value(s.applied.plan.stages[i + 1].name) : json::value()}};
}

std::string pad(const std::string& s, std::size_t width) {
  std::size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps >= width ? s + " " : s + std::string(width - cps, ' ');
}

void print_standing(const standing& s, std::ostream& out) {
  const auto i = stage_index(s.applied);
  out << "plan " << s.applied.plan.name << ", stage " << s.applied.stage << " (" << i + 1 << " of "
      << s.applied.plan.stages.size() << "), entered " << format_rfc3339(s.applied.stage_entered_at) << " ("
      << plan::format_duration(s.in_stage) << " ago)\n";
  for (const auto& r : s.applied.plan.routes_at(*s.applied.current())) {
    out << "  route " << r.id << ": " << describe_setting(r) << '\n';
    if (!s.routes.is_object()) continue;
    if (const auto why = not_served_because(r, s.routes); !why.empty())
      out << "    ! " << why << ": the monolith serves this route's share until it recovers\n";
  }
  if (s.routes.is_object()) print_write_owners(s.routes, out);
  if (s.cutover.is_object()) print_cutover_state(s.cutover, out);
  if (s.verdict.gates.empty())
    out << "\nthis stage has no gates\n";
  else
    out << '\n'
        << pad("GATE", 14) << pad("ROUTE", 18) << pad("MEASURED", 34) << pad("THRESHOLD", 22) << pad("STATE", 9)
        << "WHY\n";
  for (const auto& g : s.verdict.gates)
    out << pad(g.gate, 14) << pad(g.route.empty() ? "-" : g.route, 18) << pad(g.measured, 34) << pad(g.threshold, 22)
        << pad(std::string(plan::to_string(g.state)), 9) << g.why << '\n';
  out << "\nverdict: " << s.verdict.summary;
  if (s.verdict.passed)
    out << (i + 1 < s.applied.plan.stages.size()
                ? "; banyan plan advance moves to stage " + s.applied.plan.stages[i + 1].name
                : std::string("; this is the last stage: the migration is complete"));
  else if (!s.verdict.breaches.empty())
    out << "; banyan plan advance rolls back to stage " << s.applied.plan.rollback.to;
  out << '\n';
}

// One line per route for --watch: requests so far, parity, error rate, p99 ratio, and what is next.
std::vector<std::string> live_lines(const standing& s) {
  std::vector<std::string> lines;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  char clock[16];
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  lines.push_back(std::string(clock) + "  " + s.applied.plan.name + " @ " + s.applied.stage + " for " +
                  plan::format_duration(s.in_stage) + ": " + s.verdict.summary);
  for (const auto& r : s.applied.plan.routes_at(*s.applied.current())) {
    if (r.mode == proxy::route_mode::monolith) continue;
    auto measured = [&](const std::string& gate) -> std::string {
      for (const auto& g : s.verdict.gates)
        if (g.gate == gate && g.route == r.id) return g.measured + (g.state == plan::gate_state::fail ? " FAIL" : "");
      return "—";
    };
    const auto it = s.evidence.find(r.id);
    const auto requests = it == s.evidence.end() ? 0 : it->second.requests;
    lines.push_back("  " + pad(r.id, 18) + pad(describe_setting(r), 12) + "requests " +
                    pad(std::to_string(requests), 8) + "parity " + pad(measured("parity"), 18) + "errors " +
                    pad(measured("error_rate"), 22) + "p99 " + measured("p99_ratio"));
  }
  return lines;
}

// The breaches, said in one line: "error_rate on list is 12.00 % (12 of 100) (threshold ≤ 1.00 %)".
std::string breach_list(const plan::stage_evaluation& v) {
  std::string out;
  for (const auto& b : v.breaches)
    out += (out.empty() ? "" : "; ") + b.gate + " on " + b.route + " is " + b.measured + " (threshold " + b.threshold +
           ")";
  return out;
}

// One judgement and the move it calls for. `moved` tells the watcher whether to go on.
enum class step { advanced, completed, rolled_back, waiting, stuck, failed };

step act(admin_client& admin, const standing& s, const plan_advance_options& options, const global_options& global,
         std::ostream& out, std::ostream& err) {
  const auto& a = s.applied;
  const auto i = stage_index(a);
  if (!s.verdict.breaches.empty()) {
    const plan::stage* target = a.plan.find_stage(a.plan.rollback.to);
    std::size_t target_index = 0;
    while (target_index < a.plan.stages.size() && a.plan.stages[target_index].name != a.plan.rollback.to)
      ++target_index;
    if (!target || target_index >= i) {
      err << "banyan: breach in stage " << a.stage << " (" << breach_list(s.verdict)
          << "), and the plan's rollback stage '" << a.plan.rollback.to << "' is not before it: nothing changed\n";
      return step::stuck;
    }
    const auto live = live_routing(admin, err);
    if (!live) return step::failed;
    err << "banyan: breach in stage " << a.stage << ": " << breach_list(s.verdict) << "; rolling back to stage "
        << target->name << '\n';
    const int code = put_plan(admin,
                              {a.plan, *target, a.document, *live,
                               "automatic rollback on breach: " + breach_list(s.verdict), false, "rollback", a.stage},
                              global, out, err);
    return code == exit_ok ? step::rolled_back : step::failed;
  }
  if (!s.verdict.passed) return step::waiting;
  if (i + 1 >= a.plan.stages.size()) {
    // Completion is a step like the others: recorded (once) in the audit log.
    const json::value payload = json::object{
        {"name", a.plan.name},
        {"stage", a.stage},
        {"reason", options.reason.empty() ? "the last stage's gates pass: " + s.verdict.summary : options.reason}};
    const auto reply = admin.call("POST", "/api/v1/plan/complete", &payload);
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      return step::failed;
    }
    if (global.json())
      out << json::serialize(reply.body) << '\n';
    else
      out << "plan " << a.plan.name << ": the last stage's gates pass; the migration is complete\n";
    return step::completed;
  }
  const auto live = live_routing(admin, err);
  if (!live) return step::failed;
  std::string reason = options.reason.empty() ? "gates passed: " + s.verdict.summary : options.reason;
  const int code = put_plan(admin, {a.plan, a.plan.stages[i + 1], a.document, *live, reason, false, "advance", a.stage},
                            global, out, err);
  return code == exit_ok ? step::advanced : step::failed;
}

}  // namespace

int run_plan_status(const plan_status_options&, const global_options& global, std::ostream& out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    standing s;
    if (const int code = judge(admin, s, err); code != exit_ok) return code;
    if (global.json())
      out << json::serialize(standing_json(s)) << '\n';
    else
      print_standing(s, out);
    return exit_ok;
  });
}

int plan_status_json(const global_options& global, json::object& standing_out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    standing s;
    if (const int code = judge(admin, s, err); code != exit_ok) return code;
    standing_out = standing_json(s);
    return exit_ok;
  });
}

int run_plan_advance(const plan_advance_options& options, const global_options& global, std::ostream& out,
                     std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    if (!options.watch) {
      standing s;
      if (const int code = judge(admin, s, err); code != exit_ok) return code;
      switch (act(admin, s, options, global, out, err)) {
        case step::advanced:
        case step::completed:
          return exit_ok;
        case step::rolled_back:
          return exit_check_failed;
        case step::waiting:
          if (global.json())
            out << json::serialize(standing_json(s)) << '\n';
          else
            print_standing(s, out);
          err << "banyan: stage " << s.applied.stage << " does not advance yet: " << s.verdict.summary << '\n';
          return exit_check_failed;
        case step::stuck:
        case step::failed:
          return exit_check_failed;
      }
      return exit_check_failed;
    }
    // --watch: judge every interval, redraw the live lines, move when the gates say so.
    interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = [](int) { interrupted = true; };
    sigemptyset(&sa.sa_mask);
    struct sigaction previous {};
    sigaction(SIGINT, &sa, &previous);
    const bool tty = &out == &std::cout && ::isatty(STDOUT_FILENO);
    std::size_t drawn = 0;
    int result = exit_check_failed;
    while (!interrupted) {
      standing s;
      if (const int code = judge(admin, s, err); code != exit_ok) {
        result = code;
        break;
      }
      const auto lines = live_lines(s);
      if (tty && drawn) out << "\x1b[" << drawn << "F";  // back to the first line drawn last time
      for (const auto& l : lines) out << (tty ? "\x1b[2K" : "") << l << '\n';
      out.flush();
      drawn = lines.size();
      const step st = act(admin, s, options, global, out, err);
      if (st != step::waiting) drawn = 0;  // the outcome was printed below the lines: start afresh
      if (st == step::completed) {
        result = exit_ok;
        break;
      }
      if (st == step::rolled_back || st == step::stuck || st == step::failed) {
        result = exit_check_failed;
        break;
      }
      for (auto waited = std::chrono::milliseconds(0); waited < options.interval && !interrupted;
           waited += std::chrono::milliseconds(100))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    sigaction(SIGINT, &previous, nullptr);
    if (interrupted) {
      out << "stopped watching; nothing was changed by this interruption\n";
      return exit_check_failed;
    }
    return result;
  });
}

void setup_plan_gates(CLI::App& plan_cmd, const global_options& global, int& result) {
  auto status_opts = std::make_shared<plan_status_options>();
  auto* status =
      plan_cmd.add_subcommand("status", "The plan in progress: stage, routes, each gate measured vs threshold");
  status->footer(
      "Example:\n  banyan plan status\n  banyan plan status --output json | jq '.gates[] | select(.state != "
      "\"pass\")'");
  status->callback(
      [status_opts, &global, &result] { result = run_plan_status(*status_opts, global, std::cout, std::cerr); });

  auto advance_opts = std::make_shared<plan_advance_options>();
  auto* advance =
      plan_cmd.add_subcommand("advance", "Move to the next stage when every gate passes; roll back on a breach");
  advance->add_flag("--watch", advance_opts->watch,
                    "keep judging, show a live line per route, advance as gates pass, roll back on a breach");
  advance->add_option_function<std::string>(
      "--interval",
      [advance_opts](const std::string& text) {
        if (!parse_duration(text, advance_opts->interval) || advance_opts->interval.count() < 100)
          throw CLI::ValidationError("--interval", "expected a duration of at least 100ms, such as 5s");
      },
      "with --watch: how often gates are judged (default 5s)");
  advance->add_option("--reason", advance_opts->reason, "why, for the audit log (default: the gates' verdict)");
  advance->footer(
      "Exit 0 when the plan moved to the next stage (or completed), 1 when it did not (gates not passing yet, or\n"
      "a breach rolled it back), 2 on bad input, 3 when the proxy cannot be reached. Ctrl-C stops watching and\n"
      "changes nothing.\n"
      "Examples:\n  banyan plan advance\n  banyan plan advance --watch --interval 10s");
  advance->callback(
      [advance_opts, &global, &result] { result = run_plan_advance(*advance_opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
