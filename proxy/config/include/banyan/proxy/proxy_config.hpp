#pragma once
// banyan-proxy's configuration: a YAML file, and the command-line flags that override it.
#include "banyan/platform/diagnostics.hpp"
#include "banyan/platform/yaml_reader.hpp"
#include "banyan/proxy/cutover_barrier.hpp"
#include "banyan/proxy/data_plane.hpp"
#include "banyan/proxy/health_checker.hpp"
#include "banyan/proxy/route_table.hpp"

#include <map>
#include <string>
#include <vector>

namespace banyan::proxy {

struct proxy_config {
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:9901";  // loopback unless said otherwise
  bool admin_allow_remote = false;              // a non-loopback admin listener must be asked for
  std::string admin_token_file;                 // empty: <state_dir>/admin.token, generated on first start
  std::string monolith;                         // required: http://HOST:PORT
  std::string state_dir = "banyan-state";
  std::string access_log = "stderr";            // off | stderr | a file path
  data_plane_options data_plane;                // threads, limits, timeouts (address/port from listen)
  health_check_options health_checks;           // of the services in the routing
  barrier_settings cutover;                     // the write cut-over barrier (cutover: {hold_limit})
  breaker_settings circuit_breaker;             // every upstream's breaker (circuit_breaker: {...})
  std::map<std::string, std::string> services;  // name → http://HOST:PORT
  // Owner ("monolith" or a service) → where its feed and sync status are served when not by the
  // app itself: banyan-sync attached to its database (data: {monolith: URL, items: URL}).
  std::map<std::string, std::string> data_urls;
  std::vector<route> routes;                    // bootstrap routes, used while the state store has none
  // A fleet (docs/fleet.md): routing, plan progress and audit in etcd under `prefix`, shared by
  // every instance given the same endpoints and prefix. No endpoints: the state directory's SQLite.
  struct fleet_settings {
    std::vector<std::string> endpoints;  // http://HOST:PORT of the etcd members
    std::string prefix = "/banyan";
    std::string instance;                // this instance's name in the fleet; empty: host:admin port
    bool start_from_local_copy = false;  // etcd unreachable at start: serve the last routing applied here
  } fleet;
};

// A key prefix for the fleet's state in etcd: '/' then segments of [A-Za-z0-9._-], no trailing '/'.
bool valid_etcd_prefix(const std::string& prefix, std::string& why);

// Reads and validates FILE into `out`. Every problem becomes a diagnostic (FILE:LINE:COL); returns
// false when there are errors.
bool load_proxy_config(const std::string& path, proxy_config& out, diagnostics& diags);
// The same from text (tests, and the admin API's YAML input); `name` labels diagnostics.
bool parse_proxy_config(const std::string& text, const std::string& name, proxy_config& out, diagnostics& diags);

}  // namespace banyan::proxy
