// The fleet's decisions without etcd: what each watch message means for the routing an instance
// serves and the holds it keeps, and how long a lease is trusted.
#include "banyan/proxy/fleet_rules.hpp"

#include <catch2/catch.hpp>

using namespace banyan::proxy::fleet;
using banyan::etcd::key_value;
using banyan::etcd::watch_event;
using banyan::etcd::watch_response;
using namespace std::chrono_literals;

namespace {
const keys k{"/banyan"};
watch_event put_at(const std::string& key, std::int64_t rev, std::string value = "v") {
  return {false, key_value{key, std::move(value), rev, rev, 1, 0}};
}
watch_event deleted_at(const std::string& key, std::int64_t rev) { return {true, key_value{key, {}, 0, rev, 0, 0}}; }
watch_response message(std::vector<watch_event> events, std::string cluster = "7") {
  watch_response r;
  r.header.cluster_id = std::move(cluster);
  r.events = std::move(events);
  return r;
}
}  // namespace

TEST_CASE("fleet: the keys sort hold, acks, instances, state — one watch range covers them") {
  CHECK(k.state() == "/banyan/state");
  CHECK(k.audit(12) == "/banyan/audit/00000000000000000012");
  CHECK(k.audit(9) < k.audit(10));  // zero-padded: etcd orders keys by bytes
  CHECK(k.barrier() < k.acks_prefix("x"));
  CHECK(k.acks_prefix("x") < k.instance("a"));
  CHECK(k.instance("zz") < k.state());
  CHECK(k.audit_head() < k.barrier());  // the audit log stays out of the watch
}

TEST_CASE("fleet: a newer state is applied once — duplicates and older revisions never") {
  auto s = next_watch_steps(message({put_at(k.state(), 10), put_at(k.instance("a"), 11), put_at(k.state(), 12)}),
                            "7", 9, 0, k);
  CHECK_FALSE(s.reread);
  REQUIRE(s.actions.size() == 2);
  CHECK(s.actions[0].what == watch_action::kind::apply_state);
  CHECK(s.actions[1].kv.mod_revision == 12);
  CHECK(s.resume_after == 12);
  // The same message again (a watch resumed from an older revision): nothing to do.
  s = next_watch_steps(message({put_at(k.state(), 10), put_at(k.state(), 12)}), "7", 12, 0, k);
  CHECK(s.actions.empty());
  CHECK(s.resume_after == 12);
  s = next_watch_steps(message({deleted_at(k.state(), 13)}), "7", 12, 0, k);
  REQUIRE(s.actions.size() == 1);
  CHECK(s.actions[0].what == watch_action::kind::state_deleted);
}

TEST_CASE("fleet: a switch arrives as the new state, then the hold's release, in that order") {
  auto s = next_watch_steps(message({put_at(k.barrier(), 20)}), "7", 19, 0, k);
  REQUIRE(s.actions.size() == 1);
  CHECK(s.actions[0].what == watch_action::kind::hold);
  s = next_watch_steps(message({put_at(k.acks_prefix("c@1") + "a", 21), put_at(k.state(), 22), deleted_at(k.barrier(), 22)}),
                       "7", 19, 20, k);
  REQUIRE(s.actions.size() == 2);
  CHECK(s.actions[0].what == watch_action::kind::apply_state);
  CHECK(s.actions[1].what == watch_action::kind::release);
  // A hold already carried out is not held again.
  s = next_watch_steps(message({put_at(k.barrier(), 20)}), "7", 19, 20, k);
  CHECK(s.actions.empty());
}

TEST_CASE("fleet: compaction, a cancelled watch or another cluster means reading again") {
  watch_response compacted;
  compacted.canceled = true;
  compacted.compact_revision = 40;
  auto s = next_watch_steps(compacted, "7", 10, 0, k);
  CHECK(s.reread);
  CHECK(s.why == "etcd compacted its history past revision 40, where the watch would have started");
  watch_response cancelled;
  cancelled.canceled = true;
  cancelled.cancel_reason = "mvcc: required revision is a future revision";
  CHECK(next_watch_steps(cancelled, "7", 10, 0, k).why ==
        "etcd cancelled the watch: mvcc: required revision is a future revision");
  s = next_watch_steps(message({put_at(k.state(), 3)}, "8"), "7", 10, 0, k);
  CHECK(s.reread);
  CHECK(s.actions.empty());  // another cluster's revision 3 says nothing about ours
  CHECK(s.why == "etcd's cluster id changed from 7 to 8 (a restored or another cluster)");
  CHECK_FALSE(next_watch_steps(message({}, "8"), "", 0, 0, k).reread);  // not known yet: taken
  // The same id (a cluster made again from the same configuration), but a history behind ours.
  auto created = message({});
  created.created = true;
  created.header.revision = 4;
  s = next_watch_steps(created, "7", 10, 0, k);
  CHECK(s.reread);
  CHECK(s.why == "etcd's revision went back from 10 to 4 (a restored or new cluster)");
  created.header.revision = 10;
  CHECK_FALSE(next_watch_steps(created, "7", 10, 0, k).reread);
}

TEST_CASE("fleet: a lease is trusted until before etcd can have expired it") {
  const auto sent = std::chrono::steady_clock::time_point(100s);
  CHECK(lease_trust_deadline(sent, 10s) == sent + 9s);       // a tenth of the TTL as the margin
  CHECK(lease_trust_deadline(sent, 2s) == sent + 1500ms);    // at least 500 ms
  CHECK(lease_trust_deadline(sent, 10s) < sent + 10s);
}
