#include "commands/demo_commands.hpp"

#include "commands/admin_client.hpp"
#include "commands/data_commands.hpp"
#include "commands/demo_plan.hpp"
#include "commands/demo_stack.hpp"
#include "commands/demo_text.hpp"
#include "commands/demo_traffic.hpp"
#include "commands/plan_commands.hpp"
#include "commands/plan_gate_commands.hpp"
#include "commands/route_commands.hpp"
#include "commands/shadow_commands.hpp"

#include "banyan/plan/plan.hpp"
#include "banyan/platform/units.hpp"

#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

namespace banyan::cli {

namespace json = boost::json;

namespace {

using clock_type = std::chrono::steady_clock;

struct gate_view {
  std::string route, state, measured;
};
std::vector<gate_view> gates_named(const json::object& status, std::string_view gate) {
  std::vector<gate_view> out;
  for (const auto& g : status.at("gates").as_array())
    if (g.at("gate").as_string() == gate)
      out.push_back({std::string(g.at("route").as_string()), std::string(g.at("state").as_string()),
                     std::string(g.at("measured").as_string())});
  return out;
}

}  // namespace

int run_demo(const demo_options& options, const global_options& outer, std::ostream& out, std::ostream& err) {
  const auto began = clock_type::now();
  auto seconds = [&] { return std::chrono::duration<double>(clock_type::now() - began).count(); };
  const bool tty = ::isatty(STDOUT_FILENO) && &out == &std::cout;
  bool line_open = false;
  auto say = [&](const std::string& text) {
    if (line_open) out << '\n';
    line_open = false;
    out << text << std::flush;
  };
  if (options.extract == "shipping") return run_shipping_demo(options, outer, out, err);
  const auto plan_source = find_plan(options.plan_file, "001-extract-catalog.yaml", built_in_demo_plan());
  const std::string& plan_path = plan_source.name;
  std::string plan_text;
  try {
    plan_text = plan_source.built_in ? *plan_source.built_in : read_file(plan_path);
  } catch (const std::exception& e) {
    err << "banyan demo: " << e.what() << " (give --plan FILE)\n";
    return exit_bad_input;
  }

  say("banyan demo: legacy-shop's catalog moves to catalog-service — reads, then writes — stage by stage,\n"
      "on the evidence the proxy collects, while " +
      std::to_string(options.users) + " simulated users keep shopping.\n\n");
  try {
    demo_stack stack({"legacy-shop", "catalog-service", "banyan-proxy"});
    // The first build of catalog-service has a bug: it rounds the kitchen category's prices.
    stack.start({"round-prices:kitchen"});
    say("started in " + stack.dir() + ":\n  legacy-shop      " + stack.shop_url() +
        " (seeded; follows catalog-service back)\n" + "  catalog-service  " + stack.catalog_url() +
        " (copied the catalog, follows legacy-shop's feed)\n" + "  banyan-proxy     " + stack.proxy_url() + " (admin " +
        stack.admin_url() + ")\n");
    ::setenv("CATALOG_URL", stack.catalog_url().c_str(), 1);  // the plan's ${CATALOG_URL}
    const std::string demo_plan = stack.path("001-extract-catalog.demo.yaml");
    std::ofstream(demo_plan) << demo_copy_of_plan(plan_text, plan_path);

    global_options g = outer;
    g.admin_url = stack.admin_url();
    g.token_file = stack.token_file();
    g.output = "text";
    if (g.operator_name.empty()) g.operator_name = "banyan-demo";

    demo_traffic traffic(stack.proxy_url(), options.users, options.rate, 240);
    {
      std::ostringstream o, e;
      plan_apply_options a;
      a.file = demo_plan;
      a.reason = "demo: start the extraction";
      if (run_plan_apply(a, g, o, e) != exit_ok) throw std::runtime_error("plan apply failed: " + e.str());
      say("\n$ banyan plan apply " + plan_path + "   (the demo's copy: gates of seconds)\n" + indented(o.str()));
    }

    bool divergent_build = true, spike_started = false, spike_live = false, completed = false;
    std::string stage_seen;
    int ticks = 0;
    while (clock_type::now() - began < options.timeout) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      ++ticks;
      std::ostringstream se;
      json::object status;
      if (plan_status_json(g, status, se) != exit_ok) throw std::runtime_error("plan status failed: " + se.str());
      const std::string stage(status.at("stage").as_string());
      if (stage != stage_seen) {
        stage_seen = stage;
        if (stage == "writes-shadow") traffic.allow_new_products();
      }
      const auto line = progress_line(status, seconds());
      if (tty) {
        out << "\r\033[K" << line << std::flush;
        line_open = true;
      } else if (ticks % 3 == 0) {
        out << line << '\n' << std::flush;
      }

      // Shadow catches the bug: parity fails on a route, the report names the path.
      if (divergent_build && stage == "shadow") {
        for (const auto& gv : gates_named(status, "parity")) {
          if (gv.state != "fail") continue;
          std::ostringstream ro, re;
          shadow_report_options r;
          r.route = gv.route;
          r.min_compared = 10;
          run_shadow_report(r, g, ro, re);
          say("\nthe shadow stage caught a divergence on " + gv.route + ": parity " + gv.measured +
              ", the gate holds the plan here.\n$ banyan shadow report --route " + gv.route + "\n" +
              indented(ro.str(), 24) +
              "catalog-service rounds the kitchen category's prices. Deploying the fixed build;\n" +
              "parity now counts the new build's answers too.\n");
          stack.redeploy_catalog({});
          divergent_build = false;
          break;
        }
      }
      // A bad build in the middle of the canary: too slow for the proxy's upstream timeout.
      if (!spike_started && stage == "canary-50" && status.at("in_stage_ms").to_number<std::int64_t>() > 1000) {
        say("\nA new catalog-service build goes out in the middle of the canary, and it is slow: every answer\n"
            "takes 2 s, past the proxy's 500 ms upstream timeout. Users are served by the monolith instead\n"
            "(safe requests fall back); the service's failures still count against its error rate.\n");
        stack.redeploy_catalog({"slow:2s"});
        spike_started = spike_live = true;
        continue;
      }

      // The gate saw the slow build fail: the team rolls the build back, and the plan rolls itself
      // back on this judgement — to a shadow stage that then sees a healthy build.
      if (spike_live)
        for (const auto& gv : status.at("gates").as_array())
          if (gv.at("state").as_string() == "fail") {
            say("\n" + std::string(gv.at("gate").as_string()) + " fails on " + std::string(gv.at("route").as_string()) +
                " (" + std::string(gv.at("measured").as_string()) +
                "): the slow build is rolled back now,\n"
                "and banyan plan advance rolls the plan back on the breach.\n");
            stack.redeploy_catalog({}, true);
            spike_live = false;
            break;
          }
      std::ostringstream ao, ae;
      const int rc = run_plan_advance({}, g, ao, ae);
      if (rc == exit_ok) {
        say("\n$ banyan plan advance\n" + indented(ao.str()));
        admin_client admin(g);
        const auto plan = admin.call("GET", "/api/v1/plan");
        if (plan.status == 200 && !plan.body.at("completed_at").as_string().empty()) {
          completed = true;
          break;
        }
      } else if (rc == exit_check_failed) {
        const std::string said = ao.str() + ae.str();
        if (said.find("rolled back") != std::string::npos || said.find("rolling back") != std::string::npos) {
          say("\n$ banyan plan advance\n" + indented(said) +
              "The plan rolled itself back to shadow; it starts over from there, on the same gates.\n");
          if (spike_live) {  // the plan saw it before the demo did: the bad build goes too
            stack.redeploy_catalog({}, true);
            spike_live = false;
          }
        }
      } else {
        throw std::runtime_error("plan advance failed: " + ae.str());
      }
    }
    traffic.stop();
    const auto t = traffic.totals();

    // Both sides hold the same catalog once each has applied the other's feed.
    data_verify_options v;
    v.from = stack.shop_url();
    v.to = stack.catalog_url();
    v.entity = "products";
    for (int i = 0; i < 50; ++i) {
      std::ostringstream o, e;
      if (run_data_verify(v, g, o, e) == exit_ok) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::ostringstream vo, ve;
    const int verify = run_data_verify(v, g, vo, ve);
    const std::string report = stack.path("shadow-report.html");
    {
      std::ostringstream ro, re;
      shadow_report_options r;
      r.format = "html";
      r.file = report;
      r.min_compared = 10;
      run_shadow_report(r, g, ro, re);
    }
    std::ostringstream routes_out, routes_err, audit_out, audit_err;
    run_routes(g, routes_out, routes_err);

    say("\n== summary (" + std::to_string(static_cast<int>(seconds())) + " s)\n");
    out << (completed ? "migration complete: " : "migration NOT complete: ") << "stage " << stage_seen << " of "
        << plan_path << '\n'
        << "routing now:\n"
        << indented(routes_out.str()) << "client requests: " << t.requests << " (" << t.writes
        << " writes acknowledged; " << t.refused << " refused by the shop, such as orders of products out of stock)\n"
        << "failed client requests: " << t.failed << '\n';
    for (const auto& f : traffic.failures()) out << "  " << f << '\n';
    out << "data verify legacy-shop vs catalog-service: " << (verify == exit_ok ? "clean" : "DIFFERENCES") << '\n'
        << indented(verify == exit_ok ? vo.str() : vo.str() + ve.str(), 8) << "shadow report: " << report << '\n'
        << "audit log: banyan audit --admin " << stack.admin_url() << " --token-file " << stack.token_file() << '\n';
    const bool ok = completed && t.failed == 0 && verify == exit_ok;
    if (options.keep_files) {
      stack.keep_files();
      out << "the demo's directory stays: " << stack.dir() << '\n';
    }
    if (options.keep_running) {
      stack.keep_files();
      out << "\nThe stack keeps running (Ctrl-C stops it). Try:\n";
      const std::string flags = " --admin " + stack.admin_url() + " --token-file " + stack.token_file();
      for (const char* verb : {"routes", "plan status", "shadow report", "audit"})
        out << "  banyan " << verb << flags << '\n';
      out << "  curl " << stack.proxy_url() << "/api/products/1\n" << std::flush;
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      int sig = 0;
      sigwait(&set, &sig);
    }
    return ok ? exit_ok : exit_check_failed;
  } catch (const std::exception& e) {
    say("");
    err << "banyan demo: " << e.what() << '\n';
    return exit_check_failed;
  }
}

void setup_demo(CLI::App& app, const global_options& global, int& result) {
  auto opts = std::make_shared<demo_options>();
  auto* demo = app.add_subcommand("demo", "The whole migration of legacy-shop's catalog, end to end, on this machine");
  demo->add_option("--extract", opts->extract,
                   "catalog (the first extraction) or shipping (the second: an order becomes a saga)")
      ->check(CLI::IsMember({"catalog", "shipping"}))
      ->capture_default_str();
  demo->add_option("--plan", opts->plan_file,
                   "the plan to walk (default migrations/001-extract-catalog.yaml, or 002-extract-shipping.yaml)");
  demo->add_flag("--keep-running", opts->keep_running, "leave the stack up at the end, and print how to explore it");
  demo->add_option("--users", opts->users, "simulated users")->check(CLI::Range(1, 64));
  demo->add_flag("--keep-files", opts->keep_files, "leave the demo's directory (state, logs, report) when it ends");
  demo->add_option_function<std::string>(
      "--timeout",
      [opts](const std::string& text) {
        std::chrono::milliseconds d{};
        if (!parse_duration(text, d) || d < std::chrono::seconds(10))
          throw CLI::ValidationError("--timeout", "expected a duration of at least 10s, such as 170s or 5m");
        opts->timeout = std::chrono::duration_cast<std::chrono::seconds>(d);
      },
      "how long the migration may take before the demo gives up (default 170s)");
  demo->footer(
      "Starts legacy-shop, catalog-service and banyan-proxy on free loopback ports in a temporary directory,\n"
      "drives simulated users through the proxy, and walks the plan with plan advance. Exit 0 only when the\n"
      "migration completed with no failed client request and data verify clean.");
  demo->callback([opts, &global, &result] { result = run_demo(*opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
