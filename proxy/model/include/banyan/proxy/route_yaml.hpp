#pragma once
// Routes as users write them in YAML: the proxy's configuration and migration plans read them with
// this one reader, so both accept the same spellings and report the same FILE:LINE:COL errors.
#include "banyan/platform/yaml_reader.hpp"
#include "banyan/proxy/route_table.hpp"

#include <string_view>
#include <vector>

namespace banyan::proxy {

// One route ({id, match: {methods, path}, service, mode, percent, canary_key, shadow, compare})
// from YAML, allowing only `keys` (the caller may add its own and read them itself).
void read_route(yaml_reader& r, const YAML::Node& n, route& out, const std::vector<std::string_view>& keys);

}  // namespace banyan::proxy
