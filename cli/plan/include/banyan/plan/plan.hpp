#pragma once
// A migration plan: the services a migration extracts to, the routes that move, and the ordered
// stages they move through, each gated by evidence; plus what a breach rolls back to. One YAML file
// per migration (migrations/). Loading validates everything before anything is applied.
#include "banyan/platform/diagnostics.hpp"
#include "banyan/proxy/route_table.hpp"

#include <chrono>
#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace banyan::plan {

struct position {
  int line = 0;
  int column = 0;
};

struct service_decl {
  std::string name;
  std::string url;
  std::string health_path = "/healthz";
  position at;
};

struct route_decl {
  // id, match, service, canary key, shadow settings (writes, sampling, compare rules); mode and
  // percent come from the stages.
  proxy::route route;
  position at;
};

struct route_setting {
  std::string route_id;
  proxy::route_mode mode = proxy::route_mode::monolith;
  std::uint32_t percent_bp = 0;
  position at;
};

enum class no_traffic_policy { wait, pass, fail };
std::string_view to_string(no_traffic_policy p) noexcept;

struct gates {
  std::optional<std::uint64_t> min_requests;
  std::optional<std::chrono::milliseconds> min_duration;
  std::optional<double> parity_percent;      // shadow parity at least
  std::optional<double> error_rate_percent;  // service error rate at most
  std::optional<double> p99_ratio;           // service p99 at most this × the monolith's
  // The service's data sync (its GET /internal/sync, sampled by the proxy): following, and at most
  // this far behind its source, in events and/or in the age of the oldest change not yet applied.
  struct sync_lag_bound {
    std::optional<std::int64_t> events;
    std::optional<std::chrono::milliseconds> age;
  };
  std::optional<sync_lag_bound> sync_lag;
  // Once a service owns a route's writes: at most this many changes to the moved tables in the old
  // owner's database that banyan-sync did not apply (a cron job, an admin console: writes the
  // migration would lose). Judged on the old owner's banyan-sync (its /internal/sync).
  std::optional<std::int64_t> foreign_writes;
  no_traffic_policy no_traffic = no_traffic_policy::wait;
  position at;
};

struct stage {
  std::string name;
  std::vector<route_setting> routes;
  gates gate;
  position at;
};

struct rollback_policy {
  std::vector<std::string> on;  // `on_breach`: gate names whose breach rolls back automatically
  std::string to;               // stage name; empty: no automatic rollback
  position at;
};

struct plan {
  std::string name;
  std::string description;
  std::vector<service_decl> services;
  std::vector<route_decl> routes;
  std::vector<stage> stages;
  rollback_policy rollback;

  const stage* find_stage(std::string_view stage_name) const noexcept;
  // The routing a stage sets, as proxy routes (mode and percent applied).
  std::vector<proxy::route> routes_at(const stage& s) const;
};

// What applying a stage would change against the live routing, route by route and service by
// service. Pure: the CLI fetches the live routing and prints this.
struct route_change {
  std::string id;
  std::optional<proxy::route> before;  // absent: the route is new to the proxy
  proxy::route after;
  bool changed() const noexcept;
};
struct service_change {
  std::string name;
  std::string before;  // empty: new
  std::string after;
};
struct routing_diff {
  std::vector<route_change> routes;      // every route the plan names, changed or not
  std::vector<service_change> services;  // only services that are new or change URL
  bool empty() const noexcept;
};
routing_diff diff(const plan& p, const stage& s, const std::vector<proxy::route>& live_routes,
                  const std::map<std::string, std::string>& live_services);

// Parses and validates; every problem is a diagnostic (FILE:LINE:COL). True when there is no error
// (warnings allowed).
bool parse_plan(const std::string& text, const std::string& name, plan& out, diagnostics& diags);
// Reads FILE, expands its ${VAR} references (below) and parses it; `document`, when given, receives
// the expanded text (what the proxy stores as the applied plan: what was really applied).
bool load_plan(const std::string& path, plan& out, diagnostics& diags, std::string* document = nullptr);

// ${NAME} and ${NAME:-default} in a plan's text take the environment's values, so one plan names
// a service whose address differs by machine (url: ${CATALOG_URL:-http://127.0.0.1:8082}). An unset
// variable without a default is an error at its position; "$$" is a literal '$'.
bool expand_environment(std::string& text, const std::string& name, diagnostics& diags);

}  // namespace banyan::plan
