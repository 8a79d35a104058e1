#pragma once
// What an instance of a fleet knows of the fleet, for the admin API (docs/fleet.md). Implemented
// over etcd by the fleet library (fleet_member.hpp); the admin context holds none on one machine.
#include "banyan/platform/expected.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>

namespace banyan::proxy {

class fleet_view {
 public:
  virtual ~fleet_view() = default;
  // This instance: its name, etcd's reachability, the state revision applied, problems.
  virtual boost::json::object status() = 0;
  // Every registered instance (read from etcd), with the state's current revision.
  virtual expected<boost::json::object, std::string> instances() = 0;
  // Non-empty while this instance cannot serve the fleet's latest routing (a revision it could
  // not apply): /readyz answers 503 with it. etcd being away is not such a reason: the routing
  // applied last is served, and changes are refused.
  virtual std::string not_serving_reason() = 0;
};

}  // namespace banyan::proxy
