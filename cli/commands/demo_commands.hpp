#pragma once
// banyan demo: the whole migration of legacy-shop's catalog, end to end, on this machine — the
// stack started on free loopback ports, simulated users all along, migrations/001-extract-catalog.yaml
// walked stage by stage with `plan advance` on live evidence: a divergence caught in shadow and
// fixed, an automatic rollback when a bad build fails, the reads and then the writes moved (the
// cut-over barrier, reverse sync), and a summary at the end.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <ostream>
#include <string>

namespace banyan::cli {

struct demo_options {
  std::string extract = "catalog";  // which extraction: catalog (the first), shipping (the second)
  std::string plan_file;  // empty: migrations/001-extract-catalog.yaml (or 002-…), found from here or from the binary
  bool keep_running = false;
  bool keep_files = false;  // leave the directory (state, logs, report) when done
  int users = 16;
  double rate = 10;  // requests per second per user
  std::chrono::seconds timeout{170};
};

void setup_demo(CLI::App& app, const global_options& global, int& result);
// Exit 0 only when the migration completed with no failed client request and data verify clean.
int run_demo(const demo_options& options, const global_options& global, std::ostream& out, std::ostream& err);
// The second act (demo_shipping.cpp): shipping moves out, and every order after it is a saga; also
// exit 0 only when every order settled and data verify is clean.
int run_shipping_demo(const demo_options& options, const global_options& global, std::ostream& out, std::ostream& err);

}  // namespace banyan::cli
