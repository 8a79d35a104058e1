#pragma once
// banyan routes, banyan route set: the live routing.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>
#include "banyan/proxy/route_table.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace banyan::cli {

struct route_set_options {
  std::vector<std::string> words;   // as typed: ROUTE... MODE
  std::vector<std::string> routes;  // moved in one change (one barrier, one audit entry)
  std::string mode;
  std::optional<double> percent;
  std::string reason;
};

void setup_routes(CLI::App& app, const global_options& global, int& result);

int run_routes(const global_options& global, std::ostream& out, std::ostream& err);
int run_route_set(const route_set_options& options, const global_options& global, std::ostream& out, std::ostream& err);

// "canary 12.5%", "service", …: a route's mode as operators read it.
std::string describe_setting(const proxy::route& route);
// Why a route's service gets none of its share right now, from GET /api/v1/routes's
// service_health ("service unhealthy", "circuit open"); empty when it takes its share.
std::string not_served_because(const proxy::route& r, const boost::json::value& routes_reply);

}  // namespace banyan::cli
