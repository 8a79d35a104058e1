#pragma once
// banyan saga list: where each saga of a service stands (docs/saga.md) — which step, since when,
// and why it ended as it did; with --stuck, only those past their deadline or running too long
// (exit 1 when there are any, for a script or a probe to act on).
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace banyan::cli {

struct saga_list_options {
  std::string from;  // the initiator's URL: where GET /internal/sagas answers (legacy-shop)
  bool stuck = false;
  std::string status;  // running, completed or compensated; empty: all
  int limit = 50;
  std::string older_than;  // running longer than this is stuck (a duration); empty: the service's 60 s
};

void setup_saga(CLI::App& app, const global_options& global, int& result);
int run_saga_list(const saga_list_options& o, const global_options& global, std::ostream& out, std::ostream& err);

}  // namespace banyan::cli
