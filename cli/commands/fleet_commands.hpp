#pragma once
// banyan fleet: the proxy instances sharing one routing state in etcd, and the revision each
// applied (docs/fleet.md). And the line `banyan routes` adds when an instance lags behind.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <boost/json/object.hpp>

#include <ostream>

namespace banyan::cli {

class admin_client;

void setup_fleet(CLI::App& app, const global_options& global, int& result);
int run_fleet(const global_options& global, std::ostream& out, std::ostream& err);
// For `banyan routes`: a line per instance that has not applied the fleet's latest state; nothing
// when every one has, or when the proxy is not part of a fleet.
void print_fleet_lag(admin_client& admin, std::ostream& out);

}  // namespace banyan::cli
