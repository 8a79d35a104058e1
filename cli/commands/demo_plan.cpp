#include "commands/demo_plan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <stdexcept>

namespace banyan::cli {

std::string demo_copy_of_plan(const std::string& text, const std::string& source_name) {
  YAML::Node plan = YAML::Load(text);
  if (!plan.IsMap() || !plan["stages"] || !plan["stages"].IsSequence())
    throw std::runtime_error(source_name + " is not a migration plan (no stages)");
  for (auto stage : plan["stages"]) {
    auto gates = stage["gates"];
    if (!gates || !gates.IsMap()) continue;
    if (gates["min_duration"]) gates["min_duration"] = "3s";
    // Enough answers for a p99 that a busy 2-core machine does not swing past the bound by chance.
    if (gates["min_requests"]) gates["min_requests"] = std::min(gates["min_requests"].as<long>(), 150L);
  }
  // Every read copied while shadowed: the evidence a production plan gathers in an hour of
  // sampled traffic, in seconds.
  if (plan["routes"] && plan["routes"].IsSequence())
    for (auto route : plan["routes"])
      if (route["shadow"] && route["shadow"].IsMap() && route["shadow"]["sample"]) route["shadow"]["sample"] = "100%";
  YAML::Emitter out;
  out << plan;
  return "# The demo's copy of " + source_name + ": its gates wait seconds, not hours, and every shadowed read\n"
         "# is copied.\n" + std::string(out.c_str()) + "\n";
}

}  // namespace banyan::cli
