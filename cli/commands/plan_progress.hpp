#pragma once
// What the plan verbs that move a plan share: the live routing, the plan in progress as the proxy
// holds it, and putting a stage in force (apply, advance, rollback) through the admin API.
#include "banyan/plan/plan.hpp"
#include "commands/admin_client.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

namespace banyan::cli {

// The proxy's routing in force ({version, routes, services}); nullopt after telling err why not.
std::optional<boost::json::value> live_routing(admin_client& admin, std::ostream& err);

// The plan in progress, parsed from the document the proxy stored when it was applied.
struct applied_plan {
  plan::plan plan;
  std::string document;
  std::string stage;
  std::chrono::system_clock::time_point stage_entered_at;
  const plan::stage* current() const { return plan.find_stage(stage); }
};
// exit_ok, or the exit code after telling err why not (no plan: exit 1).
int load_applied_plan(admin_client& admin, applied_plan& out, std::ostream& err);

struct stage_change {
  const plan::plan& plan;
  const plan::stage& stage;
  const std::string& document;
  const boost::json::value& live;  // live_routing()
  std::string reason;
  bool force = false;
  std::string action;      // apply | advance | rollback
  std::string from_stage;  // advance, rollback: refused when the plan has moved since
};
// PUTs the plan's progress with its routing; prints the outcome; returns the exit code.
int put_plan(admin_client& admin, const stage_change& change, const global_options& global, std::ostream& out,
             std::ostream& err);

}  // namespace banyan::cli
