#pragma once
// banyan plan …: migration plans.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace banyan::cli {

struct plan_validate_options {
  std::string file;
};

struct plan_diff_options {
  std::string file;
  std::string stage;  // empty: the first stage
};

struct plan_apply_options {
  std::string file;
  std::string stage;  // empty: the first stage
  std::string reason;
  bool force = false;
};

struct plan_rollback_options {
  std::string to;  // empty: the stage before the current one
  std::string reason;
};

// Adds `plan` and its verbs to the app; the chosen verb's exit code lands in `result`.
void setup_plan(CLI::App& app, const global_options& global, int& result);

// Validates FILE: 0 when valid (warnings allowed), 2 with FILE:LINE:COL lines when not.
int run_plan_validate(const plan_validate_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err);

// Shows what applying FILE (at --stage) would change in the live routing; changes nothing.
int run_plan_diff(const plan_diff_options& options, const global_options& global, std::ostream& out, std::ostream& err);

// Applies a stage of FILE through the admin API: idempotent; refuses (exit 1) while another plan is in
// progress unless --force, which is recorded.
int run_plan_apply(const plan_apply_options& options, const global_options& global, std::ostream& out, std::ostream& err);
// Moves the plan in progress back to an earlier stage (default: the one before the current).
int run_plan_rollback(const plan_rollback_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err);

}  // namespace banyan::cli
