#pragma once
// banyan plan status and banyan plan advance [--watch]: the current stage's gates, judged on the
// evidence the proxy collected since the stage began, and moving on (or rolling back) on it.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <ostream>
#include <string>

namespace banyan::cli {

struct plan_status_options {};

struct plan_advance_options {
  bool watch = false;
  std::chrono::milliseconds interval{5000};  // --watch: how often gates are judged
  std::string reason;
};

// Adds status and advance to `plan`.
void setup_plan_gates(CLI::App& plan_cmd, const global_options& global, int& result);

// Prints the plan, its stage, each route's mode and each gate's measured value next to its
// threshold with why it does not pass yet. Exit 0; 1 when no plan is in progress.
int run_plan_status(const plan_status_options& options, const global_options& global, std::ostream& out,
                    std::ostream& err);

// The same standing as a value, as `plan status --output json` prints it: for a caller in this
// process (the demo) that reads it rather than showing it. Exit codes as run_plan_status.
int plan_status_json(const global_options& global, boost::json::object& standing, std::ostream& err);

// Judges the current stage: all gates pass → the next stage (0); a breach the plan names → back to
// its rollback stage (1); otherwise nothing changes (1). --watch repeats until the plan completes
// (0), rolls back (1) or Ctrl-C (1, nothing changed).
int run_plan_advance(const plan_advance_options& options, const global_options& global, std::ostream& out,
                     std::ostream& err);

}  // namespace banyan::cli
