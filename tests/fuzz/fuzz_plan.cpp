// A migration plan's text: validation never crashes, and every stage of a plan it accepts builds a
// route table the proxy would accept too.
#include "banyan/plan/plan.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  banyan::diagnostics diags;
  if (!banyan::plan::expand_environment(text, "fuzz.yaml", diags)) return 0;
  banyan::plan::plan p;
  if (!banyan::plan::parse_plan(text, "fuzz.yaml", p, diags)) return 0;
  for (const auto& s : p.stages) {
    std::vector<banyan::proxy::route_error> errors;
    if (!banyan::proxy::route_table::build(p.routes_at(s), errors)) std::abort();
  }
  return 0;
}
