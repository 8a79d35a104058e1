#pragma once
// Every instance's part in a fleet's write cut-over (docs/fleet.md): when the hold appears in etcd
// it stops the moving routes' writes (they wait, as under a barrier of its own), waits until none
// of them is in flight, and says so to the coordinator (directly over its admin API, or under the
// hold in etcd when the coordinator cannot be reached: an ack the coordinator counts). When the hold
// goes — with the switch, or given up — the writes are released to the routing then in force.
// Held writes are never sent on a guess: past the hold limit they fail (503), and a partitioned
// instance keeps failing them until it sees the hold go.
#include "banyan/platform/etcd_client.hpp"
#include "banyan/proxy/fleet_rules.hpp"
#include "banyan/proxy/routing_state.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace banyan::proxy::fleet {

class barrier_participant {
 public:
  // `token`: the fleet's admin token, with which an ack is sent to the coordinator.
  barrier_participant(std::vector<std::string> endpoints, keys k, routing_state& routing, std::string token);

  // This instance's name in the fleet, once registered (an ack names it), and how to ack a hold
  // this same instance coordinates (in process: its admin API may be busy with the change itself).
  void set_instance(std::string id, std::function<bool(const std::string& hold, const std::string& instance)> own_ack);
  // The hold written at `revision` (its JSON document): holds the writes, waits for those in
  // flight (at most the hold limit), then acks. Blocks the caller (the follower) meanwhile: the
  // state cannot change while a hold stands.
  void hold(std::string_view document, std::int64_t revision);
  // The hold is gone: its writes go where the routing in force says.
  void release();
  std::int64_t held_revision() const;

 private:
  // The ack sent to the coordinator at `url`; false when it did not take it.
  bool ack_directly(const std::string& url, const std::string& hold, const std::string& instance) const;

  etcd::client client_;
  keys keys_;
  routing_state& routing_;
  std::string token_;
  mutable std::mutex mutex_;
  std::string instance_;
  std::function<bool(const std::string&, const std::string&)> own_ack_;
  std::vector<std::shared_ptr<route_stats>> held_;
  std::int64_t held_revision_ = 0;
};

}  // namespace banyan::proxy::fleet
