#pragma once
// Routes as JSON, for the admin API and the CLI:
//   {"id":"catalog-reads","match":{"methods":["GET"],"path":"/api/products/**"},
//    "service":"catalog","mode":"canary","percent":12.5,"canary_key":{"header":"X-User-Id"}}
#include "banyan/proxy/route_table.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace banyan::proxy {

boost::json::object route_to_json(const route& r);
// Reads one route; problems are appended as "field: message" with the route's index as context.
bool route_from_json(const boost::json::value& v, route& out, std::vector<std::string>& problems);

}  // namespace banyan::proxy
