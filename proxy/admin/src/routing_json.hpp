#pragma once
// The routing in force as the admin API answers it and audit entries record it (both halves of
// admin_api use it: the reads and the changes).
#include "banyan/proxy/route_json.hpp"
#include "banyan/proxy/routing_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace banyan::proxy {

inline boost::json::object routing_json(const routing_snapshot& snap) {
  boost::json::array routes;
  if (snap.table)
    for (const auto& r : snap.table->routes()) routes.push_back(route_to_json(r));
  boost::json::object services;
  for (const auto& [name, url] : snap.services) services[name] = url;
  boost::json::object out{{"version", snap.version}, {"routes", std::move(routes)}, {"services", std::move(services)}};
  if (snap.state_revision) out["revision"] = snap.state_revision;  // a fleet's: the same on every instance
  return out;
}

}  // namespace banyan::proxy
