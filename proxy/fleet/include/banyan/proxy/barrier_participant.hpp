#pragma once
// Every instance's part in a fleet's write cut-over (docs/fleet.md): when the hold appears in etcd
// it stops the moving routes' writes (they wait, as under a barrier of its own), waits until none
// of them is in flight, and says so under the hold (an ack the coordinator counts). When the hold
// goes — with the switch, or given up — the writes are released to the routing then in force.
// Held writes are never sent on a guess: past the hold limit they fail (503), and a partitioned
// instance keeps failing them until it sees the hold go.
#include "banyan/platform/etcd_client.hpp"
#include "banyan/proxy/fleet_rules.hpp"
#include "banyan/proxy/routing_state.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace banyan::proxy::fleet {

class barrier_participant {
 public:
  barrier_participant(std::vector<std::string> endpoints, keys k, routing_state& routing);

  // This instance's name in the fleet, once registered (an ack names it).
  void set_instance(std::string id);
  // The hold written at `revision` (its JSON document): holds the writes, waits for those in
  // flight (at most the hold limit), then acks. Blocks the caller (the follower) meanwhile: the
  // state cannot change while a hold stands.
  void hold(std::string_view document, std::int64_t revision);
  // The hold is gone: its writes go where the routing in force says.
  void release();
  std::int64_t held_revision() const;

 private:
  etcd::client client_;
  keys keys_;
  routing_state& routing_;
  mutable std::mutex mutex_;
  std::string instance_;
  std::vector<std::shared_ptr<route_stats>> held_;
  std::int64_t held_revision_ = 0;
};

}  // namespace banyan::proxy::fleet
