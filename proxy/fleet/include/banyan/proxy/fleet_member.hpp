#pragma once
// This instance's place in the fleet (docs/fleet.md): registered under a lease (admin address,
// version, start time, the state revision it has applied), kept alive every third of the TTL,
// registered again under a new lease if the old one expired. What the admin API shows of the fleet
// (fleet_view): this instance, and every registered one.
#include "banyan/proxy/etcd_state_store.hpp"
#include "banyan/proxy/fleet_follower.hpp"
#include "banyan/proxy/fleet_view.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace banyan::proxy::fleet {

struct instance_info {
  std::string id;         // unique in the fleet
  std::string admin_url;  // http://HOST:PORT of its admin API: evidence is asked there
  std::string proxy_url;
  std::string version;
  std::string started_at;
};

class fleet_member final : public fleet_view {
 public:
  // `routing`: where the lease's trust deadline is kept for the data plane, which refuses writes
  // past it (routing_state::set_write_deadline).
  fleet_member(std::vector<std::string> endpoints, keys k, instance_info self, std::chrono::seconds ttl,
               etcd_health& health, fleet_follower& follower, routing_state& routing);
  ~fleet_member() override;  // leaves the fleet: the lease is revoked
  fleet_member(const fleet_member&) = delete;
  fleet_member& operator=(const fleet_member&) = delete;

  // Registers with the addresses the instance listens on (throws when another live instance holds
  // the same id, or etcd cannot answer), then keeps the lease alive on its own thread.
  void start(std::string admin_url, std::string proxy_url);
  // Started from the local copy while etcd was away: start() registers later rather than fail.
  void allow_starting_unregistered() noexcept { started_unregistered_ = true; }
  void stop();

  boost::json::object status() override;
  expected<boost::json::object, std::string> instances() override;
  std::string not_serving_reason() override;

  // Whether the lease may still be alive at the server: false from lease_trust_deadline on.
  bool lease_trusted() const;
  std::int64_t lease() const;
  const std::string& id() const noexcept { return self_.id; }  // set by start()

 private:
  // A renewal sent at `sent` succeeded: trust the lease (and forward writes) until its deadline.
  void trust_from(std::chrono::steady_clock::time_point sent);
  // Puts this instance's record under the lease; false when another instance holds the id.
  bool put_record(etcd::client& c, std::int64_t applied, std::string& why);
  void run();

  std::vector<std::string> endpoints_;
  keys keys_;
  instance_info self_;
  std::chrono::seconds ttl_;
  etcd_health& health_;
  fleet_follower& follower_;
  routing_state& routing_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::int64_t lease_ = 0;
  std::int64_t registered_applied_ = -1;  // the applied revision in the record etcd holds
  std::chrono::steady_clock::time_point trusted_until_{};
  std::chrono::steady_clock::time_point last_renewal_sent_{};
  bool started_unregistered_ = false;
  std::int64_t catch_up_to_ = 0;            // writes wait until the follower applied this state (0: none)
  std::int64_t state_at_registration_ = 0;  // the state's revision when the record was last put
  std::string last_problem_;
  std::thread thread_;
};

}  // namespace banyan::proxy::fleet
