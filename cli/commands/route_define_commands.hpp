#pragma once
// banyan route add / edit / remove: define routes in the live routing without a plan — their
// match, service, mode and shadow and compare settings — through PUT /api/v1/routes, audited with
// the operator and reason like every change (and through the cut-over barrier when writes move).
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace banyan::cli {

struct route_define_options {
  std::string route;
  // A new route's match and service (add requires path and service; edit changes what is given).
  std::string path, service, url;
  std::vector<std::string> methods;
  std::string mode;  // add: default shadow when a service is named
  std::optional<double> percent;
  std::string canary_key;  // header:NAME | cookie:NAME | client_address
  // Shadow and compare settings (edit replaces a list only when given).
  std::optional<double> sample;
  std::optional<bool> consistent;
  std::string writes;  // skip | dry-run
  std::optional<std::vector<std::string>> ignore;
  std::optional<std::string> version;
  std::optional<double> tolerance;
  std::string reason;
};

// Adds the route-defining verbs to `route`.
void setup_route_define(CLI::App& route, const global_options& global, int& result);

int run_route_add(const route_define_options& options, const global_options& global, std::ostream& out,
                  std::ostream& err);
int run_route_edit(const route_define_options& options, const global_options& global, std::ostream& out,
                   std::ostream& err);
int run_route_remove(const route_define_options& options, const global_options& global, std::ostream& out,
                     std::ostream& err);

}  // namespace banyan::cli
