#pragma once
// banyan audit: who changed what, when, why.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <ostream>

namespace banyan::cli {

struct audit_options {
  std::int64_t after = 0;
  int limit = 100;
};

void setup_audit(CLI::App& app, const global_options& global, int& result);
int run_audit(const audit_options& options, const global_options& global, std::ostream& out, std::ostream& err);

}  // namespace banyan::cli
