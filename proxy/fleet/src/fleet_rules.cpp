#include "banyan/proxy/fleet_rules.hpp"

#include <algorithm>
#include <cstdio>

namespace banyan::proxy::fleet {

std::string keys::audit(std::int64_t id) const {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(id));
  return audit_prefix() + digits;
}

watch_steps next_watch_steps(const etcd::watch_response& r, std::string_view cluster_id, std::int64_t applied,
                             std::int64_t held, const keys& k) {
  watch_steps out;
  if (r.compact_revision > 0) {
    out.reread = true;
    out.why = "etcd compacted its history past revision " + std::to_string(r.compact_revision) +
              ", where the watch would have started";
    return out;
  }
  if (r.canceled) {
    out.reread = true;
    out.why = "etcd cancelled the watch" + (r.cancel_reason.empty() ? std::string() : ": " + r.cancel_reason);
    return out;
  }
  if (!cluster_id.empty() && !r.header.cluster_id.empty() && r.header.cluster_id != cluster_id) {
    out.reread = true;
    out.why = "etcd's cluster id changed from " + std::string(cluster_id) + " to " + r.header.cluster_id +
              " (a restored or another cluster)";
    return out;
  }
  // A cluster created again from the same configuration has the same id; its history is what
  // gives it away: its revision is behind the state this instance applied.
  if (r.header.revision > 0 && r.header.revision < applied) {
    out.reread = true;
    out.why = "etcd's revision went back from " + std::to_string(applied) + " to " + std::to_string(r.header.revision) +
              " (a restored or new cluster)";
    return out;
  }
  const auto state_key = k.state(), barrier_key = k.barrier();
  for (const auto& e : r.events) {
    out.resume_after = std::max(out.resume_after, e.kv.mod_revision);
    if (e.kv.key == state_key) {
      if (e.kv.mod_revision <= applied) continue;
      applied = e.kv.mod_revision;
      out.actions.push_back({e.deleted ? watch_action::kind::state_deleted : watch_action::kind::apply_state, e.kv});
    } else if (e.kv.key == barrier_key) {
      if (e.kv.mod_revision <= held) continue;
      held = e.kv.mod_revision;
      out.actions.push_back({e.deleted ? watch_action::kind::release : watch_action::kind::hold, e.kv});
    }
  }
  return out;
}

std::chrono::steady_clock::time_point lease_trust_deadline(std::chrono::steady_clock::time_point last_renewal_sent,
                                                           std::chrono::seconds ttl) {
  // A tenth of the TTL (at least 500 ms) for the two clocks running at different rates and for
  // the time a forwarded write takes after the instance's last look at the deadline.
  const auto margin = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(500), ttl / 10);
  return last_renewal_sent + ttl - margin;
}

}  // namespace banyan::proxy::fleet
