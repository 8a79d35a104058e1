#pragma once
// A fleet's state in etcd (docs/fleet.md): the routing and the plan in progress in one key (one
// revision says which routing every instance serves), the audit log as numbered keys. Every save is
// one txn that compares the revision the change was prepared from, so two operators on two
// instances can never both win; the audit entry is in the same txn.
#include "banyan/platform/etcd_client.hpp"
#include "banyan/proxy/fleet_barrier.hpp"
#include "banyan/proxy/fleet_rules.hpp"
#include "banyan/proxy/state_store.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace banyan::proxy::fleet {

// The state key's document: routes, services and the plan in progress.
struct state_document {
  stored_routing routing;
  std::optional<plan_progress> plan;
};
std::string encode_state(const state_document& doc);
expected<state_document, std::string> decode_state(std::string_view text);

// Whether etcd answered lately: shared by the store, the follower and the member, who each talk to
// it on their own connection.
struct etcd_health {
  std::atomic<bool> reachable{true};
  std::mutex mutex;
  std::string last_error;  // under mutex
  void ok() { reachable = true; }
  void failed(const std::string& why) {
    std::lock_guard lock(mutex);
    last_error = why;
    reachable = false;
  }
  std::string error() {
    std::lock_guard lock(mutex);
    return last_error;
  }
};

class etcd_state_store final : public state_store, public fleet_barrier {
 public:
  etcd_state_store(std::vector<std::string> endpoints, std::string prefix, etcd_health& health);

  // A linearizable read of the state (throws when etcd cannot answer: startup is an edge). Also
  // takes the plan it holds as the one in progress.
  std::optional<stored_routing> load() override;
  std::int64_t save(const stored_routing& routing, audit_entry entry, const plan_progress* progress = nullptr,
                    std::int64_t based_on = 0) override;
  std::optional<plan_progress> plan() override;
  bool complete_plan(audit_entry entry) override;
  void record(audit_entry entry) override;
  std::vector<audit_entry> audit(std::int64_t after, int limit) override;
  // Not while etcd is unreachable or without quorum (as the last request to it found).
  bool writable(std::string& why) override;
  std::string where() const override;

  // fleet_barrier: this instance coordinates a write cut-over (docs/fleet.md).
  bool begin(const std::vector<std::string>& routes, std::int64_t based_on, std::chrono::milliseconds hold_limit,
             std::string& why) override;
  // Whether every instance registered at the hold (or found since) acked it, directly or in etcd,
  // or is gone. etcd is asked at most every `etcd_look_interval` for the acks written there (by an
  // instance that could not reach this one) and the instances still registered; between looks
  // the direct acks decide. An instance that joined since the last look makes the switch refuse.
  bool drained(std::string& waiting_for) override;
  bool acked(const std::string& hold_id, const std::string& instance) override;
  void abandon() override;
  // This instance's name, its lease (the hold is written under it: a coordinator that dies leaves
  // no hold behind once its lease expires) and its admin URL (where the instances ack the hold).
  // Set once it has registered.
  void set_member(std::string instance, std::function<std::int64_t()> lease, std::string admin_url);
  // An instance whose lease expired is taken as gone this long after it was first seen gone.
  static constexpr std::chrono::milliseconds gone_grace{1000};
  static constexpr std::chrono::milliseconds etcd_look_interval{10};

  // The follower installed the state at `revision`: its plan is the one in progress from now on.
  void applied(const state_document& doc, std::int64_t revision);
  std::int64_t applied_revision();
  // etcd's history started again (another cluster): the next state applied may have any revision.
  void forget_revision();
  // The state key is missing (a new or restored cluster): writes the state in force back, unless
  // another instance did first; the new revision, or 0 when another instance did.
  std::int64_t restore_missing(const audit_entry& entry);
  const keys& fleet_keys() const noexcept { return keys_; }

 private:
  // Runs one txn that also takes the next audit number: retried while only the audit head moved
  // (another instance recorded something); throws state_conflict when the state moved from
  // `based_on`, runtime_error when etcd cannot answer. Returns the txn's revision.
  std::int64_t commit(std::optional<std::string> state_value, std::int64_t based_on, const audit_entry& entry);
  template <class T>
  T checked(expected<T, etcd::error> r);

  keys keys_;
  etcd_health& health_;
  std::mutex mutex_;  // the client (one connection), the cached state
  etcd::client client_;
  std::optional<state_document> state_;  // at state_revision_
  std::int64_t state_revision_ = 0;
  // The audit log's head as this store last saw it: the last number given, at its mod revision.
  struct audit_head {
    std::int64_t last = 0;
    std::int64_t revision = 0;
  };
  static audit_head audit_head_of(const std::vector<etcd::key_value>& kvs);
  std::optional<audit_head> audit_head_;

  std::string instance_;
  std::function<std::int64_t()> lease_;
  std::string admin_url_;
  // The barrier this instance coordinates, while it does (under mutex_).
  struct coordinated {
    std::string id;                 // names its acks: <prefix>/barrier_acks/<id>/<instance>
    std::int64_t revision = 0;      // of the hold key
    std::int64_t based_on = 0;      // the state it was prepared from
    std::int64_t looked_at = 0;     // the revision of the last look at the instances
    std::vector<std::string> instances;                            // registered at the start, and since
    std::set<std::string> acked;                                   // directly, or found in etcd
    std::map<std::string, std::chrono::steady_clock::time_point> gone_since;
    std::chrono::steady_clock::time_point next_etcd_look{};
  };
  std::optional<coordinated> barrier_;
};

}  // namespace banyan::proxy::fleet
