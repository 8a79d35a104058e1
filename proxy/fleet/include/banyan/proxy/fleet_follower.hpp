#pragma once
// Follows the fleet's state key into this instance's routing (docs/fleet.md): a watch from the
// revision after the one applied; on compaction, a cancelled watch or another cluster id, one
// linearizable re-read of the key, then a watch from the revision that read was at. Revisions are
// applied in order, each once; the routing never goes back (routing_state::commit). etcd away:
// the routing applied last stays in force, and the follower keeps trying.
#include "banyan/proxy/barrier_participant.hpp"
#include "banyan/proxy/etcd_state_store.hpp"
#include "banyan/proxy/routing_state.hpp"

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace banyan::proxy::fleet {

class fleet_follower {
 public:
  // `local_copy`: a file where each state applied is kept (atomically replaced), for an instance
  // told to start from it while etcd is away; empty: none.
  fleet_follower(std::vector<std::string> endpoints, etcd_state_store& store, routing_state& routing,
                 std::string monolith_url, etcd_health& health, std::string local_copy,
                 barrier_participant& participant);
  ~fleet_follower();
  fleet_follower(const fleet_follower&) = delete;
  fleet_follower& operator=(const fleet_follower&) = delete;

  // Installs a state read before starting (revision: its mod_revision; read_at: the revision the
  // read was answered at). False with the reason when it cannot be installed.
  bool install(const state_document& doc, std::int64_t revision, std::string& why);
  // Reads the state and any write cut-over's hold (installing and holding what it finds), then
  // watches on its own thread. The first read is made here, before the instance serves: a hold
  // already on is held from the first request. Without etcd, the thread keeps trying.
  void start();
  void stop();
  // Ends the current watch and starts another (etcd came back after an outage: a stream that
  // broke silently would otherwise wait for its idle limit).
  void rewatch();

  std::int64_t applied() const;
  std::string problem() const;         // non-empty: something about the fleet's state is wrong
  std::string not_serving() const;     // non-empty: the newest state could not be installed

  static bool read_local_copy(const std::string& path, state_document& doc, std::int64_t& revision, std::string& why);

 private:
  void run();
  bool sleep_for(std::chrono::milliseconds d);
  // One linearizable read of the state and the hold, carried out; false (etcd's error in `why`)
  // when etcd did not answer.
  bool read(etcd::client& c, std::string& why);
  void carry_out(const watch_action& a);

  std::vector<std::string> endpoints_;
  etcd_state_store& store_;
  routing_state& routing_;
  std::string monolith_url_;
  etcd_health& health_;
  std::string local_copy_;
  barrier_participant& participant_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool rewatch_ = false;
  std::int64_t applied_ = 0;
  std::int64_t barrier_seen_ = 0;  // the revision of the last hold or release carried out
  std::int64_t watch_from_ = 0;    // 0: read first
  std::string cluster_id_;
  std::string problem_;
  std::string not_serving_;
  std::thread thread_;
};

}  // namespace banyan::proxy::fleet
