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

// Adds `plan` and its verbs to the app; the chosen verb's exit code lands in `result`.
void setup_plan(CLI::App& app, const global_options& global, int& result);

// Validates FILE: 0 when valid (warnings allowed), 2 with FILE:LINE:COL lines when not.
int run_plan_validate(const plan_validate_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err);

// Shows what applying FILE (at --stage) would change in the live routing; changes nothing.
int run_plan_diff(const plan_diff_options& options, const global_options& global, std::ostream& out, std::ostream& err);

}  // namespace banyan::cli
