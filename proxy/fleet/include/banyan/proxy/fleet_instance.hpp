#pragma once
// This instance's whole part in a fleet (docs/fleet.md), put together as banyan-proxy starts: the
// state store in etcd, the follower that installs the fleet's state, the participant in write
// cut-overs, and the registration under a lease.
#include "banyan/proxy/barrier_participant.hpp"
#include "banyan/proxy/etcd_state_store.hpp"
#include "banyan/proxy/fleet_follower.hpp"
#include "banyan/proxy/fleet_member.hpp"

#include <memory>
#include <string>

namespace banyan::proxy::fleet {

struct instance_options {
  std::vector<std::string> endpoints;
  std::string prefix = "/banyan";
  std::string name;                    // empty: host name and admin port
  bool start_from_local_copy = false;  // etcd unreachable at start: serve the last state applied here
  std::string state_dir;               // where the local copy is kept
  std::string monolith_url;
  std::string version;
  std::string admin_token;  // the fleet's, shared: instances ack a write cut-over's hold with it
};

class fleet_instance {
 public:
  // Reads the fleet's state (writing `bootstrap` as its first state when the fleet has none) and
  // installs it into `routing`. Throws with a message for the operator when etcd cannot be read
  // and the local copy may not (or cannot) be used.
  fleet_instance(instance_options options, routing_state& routing, const stored_routing& bootstrap,
                 const audit_entry& bootstrap_entry);
  ~fleet_instance();

  state_store& store() noexcept { return *store_; }
  fleet_view& view() noexcept { return *member_; }
  fleet_barrier& barrier() noexcept { return *store_; }

  // Follows the fleet and registers, before the instance serves (throws when another live instance
  // has its name). The URLs are the ones it listens on.
  void start(const std::string& admin_url, const std::string& proxy_url);
  // Leaves the fleet (the lease revoked) and stops following.
  void stop();

 private:
  etcd_health health_;
  std::unique_ptr<etcd_state_store> store_;
  std::unique_ptr<barrier_participant> participant_;
  std::unique_ptr<fleet_follower> follower_;
  std::unique_ptr<fleet_member> member_;
};

}  // namespace banyan::proxy::fleet
