#pragma once
// The fleet's decisions, pure (docs/fleet.md): what a watch response means for the routing an
// instance serves, and how long an instance that cannot reach etcd may go on trusting its lease.
#include "banyan/platform/etcd_messages.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::proxy::fleet {

// The etcd keys of one fleet, under its prefix.
struct keys {
  std::string prefix;  // "/banyan"
  std::string state() const { return prefix + "/state"; }  // routing + plan progress: one key, one revision
  std::string audit_head() const { return prefix + "/audit_head"; }
  std::string audit_prefix() const { return prefix + "/audit/"; }
  std::string audit(std::int64_t id) const;  // zero-padded: etcd orders keys by bytes
  std::string instances_prefix() const { return prefix + "/instances/"; }
  std::string instance(std::string_view id) const { return instances_prefix() + std::string(id); }
  std::string barrier() const { return prefix + "/barrier"; }  // the write cut-over's hold, while one is on
  std::string acks_prefix(std::string_view barrier_id) const {
    return prefix + "/barrier_acks/" + std::string(barrier_id) + "/";
  }
  std::string all_acks_prefix() const { return prefix + "/barrier_acks/"; }
};

// What the follower does with one message of its watch (the state key and the barrier's hold).
struct watch_action {
  enum class kind {
    apply_state,    // `kv` is a state newer than the one in force
    state_deleted,  // the state key was deleted behind the fleet's back: keep serving, say so
    hold,           // a write cut-over's hold (`kv`): stop those writes, then say so
    release,        // the hold was taken down: release what it held
  } what = kind::apply_state;
  etcd::key_value kv;
};
struct watch_steps {
  // The watch cannot go on from here (compacted, cancelled, another cluster): read the state and
  // the hold again, linearizably, and watch anew from that read. `why` says why.
  bool reread = false;
  std::string why;
  std::vector<watch_action> actions;  // in the order etcd wrote them (a switch: the state, then the release)
  std::int64_t resume_after = 0;      // the newest revision seen in the message (0: none)
};
// `cluster_id`: of the cluster the applied state came from (empty: not known yet); `applied`: the
// state revision in force; `held`: the revision of the hold in force (0: none). Never goes
// backwards: a state at or below `applied`, or a hold at or below `held`, is a duplicate.
watch_steps next_watch_steps(const etcd::watch_response& r, std::string_view cluster_id, std::int64_t applied,
                             std::int64_t held, const keys& k);

// An instance that cannot renew its lease stops trusting what it holds (writes on routes whose
// owner may be changing) before the lease can have expired at the server: etcd counts the TTL
// from when it granted or last renewed, which is after the instance sent the request. Counting
// from when the last successful keepalive was *sent*, less a margin for clock rate differences,
// keeps the instance's deadline before the server's.
std::chrono::steady_clock::time_point lease_trust_deadline(std::chrono::steady_clock::time_point last_renewal_sent,
                                                           std::chrono::seconds ttl);

}  // namespace banyan::proxy::fleet
