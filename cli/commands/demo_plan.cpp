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
    if (gates["min_requests"]) gates["min_requests"] = std::min(gates["min_requests"].as<long>(), 60L);
  }
  YAML::Emitter out;
  out << plan;
  return "# The demo's copy of " + source_name + ": its gates wait seconds, not hours.\n" + std::string(out.c_str()) + "\n";
}

}  // namespace banyan::cli
