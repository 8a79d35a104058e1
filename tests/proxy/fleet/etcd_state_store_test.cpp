// The fleet's state store on a real etcd, two instances' stores side by side: changes that cannot
// both win, one audit numbering, and the write cut-over's hold, acks and switch as etcd keeps them.
#include "banyan/proxy/etcd_state_store.hpp"
#include "banyan/proxy/admin_api.hpp"
#include "banyan/proxy/barrier_participant.hpp"

#include "banyan/platform/base64.hpp"

#include "support/etcd_cluster.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <thread>

using namespace banyan::proxy;
using namespace banyan::proxy::fleet;
using banyan::test::etcd_cluster;
using namespace std::chrono_literals;

namespace {
audit_entry entry(const std::string& reason) {
  audit_entry e;
  e.operator_name = "test";
  e.token_id = "-";
  e.action = "routes.replace";
  e.target = "*";
  e.before = e.after = "{}";
  e.reason = reason;
  return e;
}
stored_routing routing_with(const std::string& service_url) { return {{}, {{"items", service_url}}, 0}; }
std::vector<std::string> endpoints(const etcd_cluster& c) { return {c.client_url(0)}; }
}  // namespace

TEST_CASE("fleet store: of two changes prepared from one revision, the second is refused and saves nothing") {
  etcd_cluster etcd(1);
  etcd_health ha, hb;
  etcd_state_store a(endpoints(etcd), "/t", ha), b(endpoints(etcd), "/t", hb);
  CHECK_FALSE(a.load());
  const auto r1 = a.save(routing_with("http://127.0.0.1:1"), entry("first"), nullptr, 0);
  CHECK(r1 > 0);
  // Bootstrapping again from "nothing there" loses: the key exists now.
  CHECK_THROWS_AS(b.save(routing_with("http://127.0.0.1:9"), entry("second bootstrap"), nullptr, 0), state_conflict);
  REQUIRE(b.load()->revision == r1);
  const auto r2 = a.save(routing_with("http://127.0.0.1:2"), entry("a's"), nullptr, r1);
  CHECK(r2 > r1);
  try {
    b.save(routing_with("http://127.0.0.1:3"), entry("b's"), nullptr, r1);
    FAIL("b's change, prepared from revision r1, was saved over a's");
  } catch (const state_conflict& e) {
    CHECK(std::string(e.what()).find("the routing changed on another instance of the fleet (state revision " +
                                     std::to_string(r2) + ", this change was prepared from " + std::to_string(r1)) !=
          std::string::npos);
  }
  CHECK(b.load()->services.at("items") == "http://127.0.0.1:2");
  // One audit log, numbered without gaps whichever instance writes: the refused change is not in it.
  b.record(entry("b recorded"));
  const auto log = a.audit(0, 100);
  REQUIRE(log.size() == 3);
  CHECK(log[0].id == 1);
  CHECK(log[0].reason == "first");
  CHECK(log[1].reason == "a's");
  CHECK(log[2].id == 3);
  CHECK(log[2].reason == "b recorded");
  CHECK(a.audit(2, 100).size() == 1);
}

TEST_CASE("fleet store: the plan in progress travels with the routing and keeps its times as on one machine") {
  etcd_cluster etcd(1);
  etcd_health h;
  etcd_state_store a(endpoints(etcd), "/t", h);
  plan_progress p{"extract", "stages: []", "shadow", {}, {}, {}};
  const auto r1 = a.save(routing_with("http://127.0.0.1:1"), entry("apply"), &p, 0);
  const auto first = a.plan();
  REQUIRE(first);
  CHECK(first->revision == r1);  // the state's revision it was read at, as the routing's
  CHECK_FALSE(first->applied_at.empty());
  CHECK(first->stage_entered_at == first->applied_at);
  std::this_thread::sleep_for(5ms);
  p.stage = "canary";
  const auto r2 = a.save(routing_with("http://127.0.0.1:1"), entry("advance"), &p, r1);
  CHECK(a.plan()->applied_at == first->applied_at);
  CHECK(a.plan()->revision == r2);
  CHECK(a.plan()->stage_entered_at != first->stage_entered_at);
  CHECK(a.complete_plan(entry("complete")));
  CHECK_FALSE(a.complete_plan(entry("again")));
  etcd_health h2;
  etcd_state_store other(endpoints(etcd), "/t", h2);
  REQUIRE(other.load());
  CHECK(other.plan()->stage == "canary");
  CHECK_FALSE(other.plan()->completed_at.empty());
  CHECK(other.applied_revision() > r2);
  CHECK(other.plan()->revision == other.applied_revision());
}

// What CI found under the sanitizers: b's follower had installed a's advance as the routing (it
// does so first) but not yet as the plan, and b's own advance from the same stage passed the stage
// check against the old plan and saved against the new routing's revision — both advances won.
TEST_CASE("fleet: an advance prepared between the follower's routing and its plan is refused, nothing saved") {
  etcd_cluster etcd(1);
  etcd_health ha, hb;
  etcd_state_store a(endpoints(etcd), "/t", ha), b(endpoints(etcd), "/t", hb);
  const std::string token = "0123456789abcdef0123456789abcdef";
  routing_state routing_b;
  admin_api api_b{{routing_b, b, token, "http://127.0.0.1:1", [] { return std::string(); }}};
  plan_progress p{"extract", "stages: [shadow, service]", "shadow", {}, {}, {}};
  const auto r1 = a.save(routing_with("http://127.0.0.1:1"), entry("apply"), &p, 0);
  auto serve = [&](std::int64_t revision) {  // what fleet_follower::install does first
    std::vector<route_error> errors;
    auto snap = routing_b.prepare({}, {{"items", "http://127.0.0.1:1"}}, "http://127.0.0.1:1", errors);
    REQUIRE(snap);
    snap->state_revision = revision;
    REQUIRE(routing_b.commit(snap));
  };
  REQUIRE(b.load());
  serve(r1);
  p.stage = "service";
  const auto r2 = a.save(routing_with("http://127.0.0.1:1"), entry("a's advance"), &p, r1);
  serve(r2);  // the routing is at r2, b's store still says shadow at r1

  banyan::http::request req;
  req.method = "PUT";
  req.target = req.path = "/api/v1/plan";
  req.headers.add("Authorization", "Bearer " + token);
  req.headers.add("Content-Type", "application/json");
  req.body = R"({"name":"extract","document":"stages: [shadow, service]","stage":"service","action":"advance",
                 "from_stage":"shadow","routes":[],"reason":"b's advance"})";
  const auto res = api_b.handle(req);
  CHECK(res.status == 409);
  CHECK(res.body.find("routing_changed") != std::string::npos);
  int advances = 0;
  for (const auto& e : a.audit(0, 100)) advances += e.action == "plan.advance" ? 1 : 0;
  CHECK(advances == 0);  // a saved through the store directly; b's never reached etcd
  CHECK(a.audit(0, 100).size() == 2);
  b.load();
  CHECK(b.plan()->revision == r2);
}

TEST_CASE("fleet store: one write cut-over at a time — it switches only when every instance holds, and only if none joined") {
  etcd_cluster etcd(1);
  etcd_health ha, hb;
  etcd_state_store a(endpoints(etcd), "/t", ha), b(endpoints(etcd), "/t", hb);
  const keys k{"/t"};
  // Two registered instances, as fleet_member registers them (under their leases).
  const std::int64_t lease = std::stoll(std::string(
      boost::json::parse(etcd.call(0, "/v3/lease/grant", R"({"TTL":"30"})")).at("ID").as_string()));
  auto register_instance = [&](const std::string& id) {
    etcd.call(0, "/v3/kv/put",
              R"({"key":")" + banyan::base64_encode(k.instance(id)) + R"(","value":"e30=","lease":")" +
                  std::to_string(lease) + R"("})");
  };
  register_instance("a");
  register_instance("b");
  a.set_member("a", [&] { return lease; }, "http://127.0.0.1:7001");
  b.set_member("b", [&] { return lease; }, "http://127.0.0.1:7002");
  const auto r1 = a.save(routing_with("http://127.0.0.1:1"), entry("start"), nullptr, 0);

  std::string why;
  REQUIRE(a.begin({"item-write"}, r1, 2000ms, why));
  CHECK_FALSE(b.begin({"other"}, r1, 2000ms, why));
  CHECK(why == "another write cut-over is in progress in the fleet (coordinated by a)");
  std::string waiting;
  CHECK_FALSE(a.drained(waiting));
  CHECK(waiting == "instances not yet holding these writes: a, b");
  // The hold says where to ack: the coordinator's admin API.
  const auto hold = boost::json::parse(etcd.call(0, "/v3/kv/range", R"({"key":")" + banyan::base64_encode(k.barrier()) + R"("})"));
  const auto hold_doc = boost::json::parse(*banyan::base64_decode(hold.at("kvs").at(0).at("value").as_string()));
  const std::string id(hold_doc.at("id").as_string());
  CHECK(hold_doc.at("ack_url") == "http://127.0.0.1:7001");
  CHECK(hold_doc.at("coordinator") == "a");
  // An instance acks directly (barrier_participant does once its writes drained): counted at once.
  CHECK(a.acked(id, "a"));
  CHECK_FALSE(a.acked("a@1", "b"));  // an ack of another hold counts for nothing
  CHECK_FALSE(b.acked(id, "b"));     // b coordinates nothing
  CHECK_FALSE(a.drained(waiting));
  CHECK(waiting == "instances not yet holding these writes: b");
  // One that cannot reach the coordinator acks under the hold in etcd: the next look finds it.
  auto ack_in_etcd = [&](const std::string& instance) {
    etcd.call(0, "/v3/kv/put",
              R"({"key":")" + banyan::base64_encode(k.acks_prefix(id) + instance) + R"(","value":"e30="})");
  };
  ack_in_etcd("b");
  std::this_thread::sleep_for(etcd_state_store::etcd_look_interval);
  CHECK(a.drained(waiting));
  // An instance joins after the last look: the switch is refused, nothing changes.
  register_instance("c");
  CHECK_THROWS_WITH(a.save(routing_with("http://127.0.0.1:2"), entry("switch"), nullptr, r1),
                    Catch::Contains("an instance joined the fleet during the write cut-over"));
  CHECK_THROWS_AS(a.save(routing_with("http://127.0.0.1:2"), entry("switch"), nullptr, r1), state_conflict);  // 409
  CHECK(b.load()->services.at("items") == "http://127.0.0.1:1");
  // It holds and acks too; the next look counts it, and the switch goes through, taking the hold down.
  std::this_thread::sleep_for(etcd_state_store::etcd_look_interval);
  CHECK_FALSE(a.drained(waiting));
  CHECK(waiting == "instances not yet holding these writes: c");
  CHECK(a.acked(id, "c"));
  REQUIRE(a.drained(waiting));
  const auto r2 = a.save(routing_with("http://127.0.0.1:2"), entry("switch"), nullptr, r1);
  CHECK(r2 > r1);
  CHECK(etcd.call(0, "/v3/kv/range", R"({"key":")" + banyan::base64_encode(k.barrier()) + R"("})").find("kvs") ==
        std::string::npos);
  // A hold given up is taken down: the next cut-over may begin.
  REQUIRE(b.load());
  REQUIRE(b.begin({"item-write"}, r2, 2000ms, why));
  b.abandon();
  REQUIRE(a.begin({"item-write"}, r2, 2000ms, why));
  a.abandon();
}

// An instance's side of a hold: it acks to the coordinator, in process when it is the coordinator,
// and under the hold in etcd when the coordinator cannot be reached.
TEST_CASE("fleet: an instance acks a hold to its coordinator, and in etcd when the coordinator cannot be reached") {
  etcd_cluster etcd(1);
  const keys k{"/t"};
  routing_state routing;
  std::vector<route_error> errors;
  REQUIRE(routing.install({}, {}, "http://127.0.0.1:1", errors));
  barrier_participant self(endpoints(etcd), k, routing, "token");
  std::vector<std::pair<std::string, std::string>> own;
  self.set_instance("a", [&](const std::string& hold, const std::string& instance) {
    own.emplace_back(hold, instance);
    return true;
  });
  auto put_hold = [&](const std::string& id, const std::string& coordinator, const std::string& ack_url) {
    const std::string doc = R"({"id":")" + id + R"(","coordinator":")" + coordinator +
                            R"(","routes":["item-write"],"hold_limit_ms":2000,"ack_url":")" + ack_url + R"("})";
    const auto put = boost::json::parse(
        etcd.call(0, "/v3/kv/put", R"({"key":")" + banyan::base64_encode(k.barrier()) + R"(","value":")" +
                                       banyan::base64_encode(doc) + R"("})"));
    return std::make_pair(doc, std::stoll(std::string(put.at("header").at("revision").as_string())));
  };
  auto acks_in_etcd = [&](const std::string& id) {
    const auto r = boost::json::parse(etcd.call(
        0, "/v3/kv/range",
        R"({"key":")" + banyan::base64_encode(k.acks_prefix(id)) + R"(","range_end":")" +
            banyan::base64_encode(banyan::etcd::prefix_end(k.acks_prefix(id))) + R"("})"));
    return r.as_object().contains("kvs") ? r.at("kvs").as_array().size() : 0;
  };
  // Its own hold: acked in process, nothing written to etcd.
  const auto [mine, mine_revision] = put_hold("a@1", "a", "http://127.0.0.1:1");
  self.hold(mine, mine_revision);
  REQUIRE(own.size() == 1);
  CHECK(own[0] == std::make_pair(std::string("a@1"), std::string("a")));
  CHECK(acks_in_etcd("a@1") == 0);
  self.release();
  // Another's hold, whose admin API refuses the connection: the ack is in etcd, under the hold.
  barrier_participant other(endpoints(etcd), k, routing, "token");
  other.set_instance("b", nullptr);
  const auto [theirs, theirs_revision] = put_hold("a@2", "a", "http://127.0.0.1:1");
  other.hold(theirs, theirs_revision);
  CHECK(acks_in_etcd("a@2") == 1);
  other.release();
  // A late ack for a hold that is gone is never written.
  const auto [gone, gone_revision] = put_hold("a@3", "a", "http://127.0.0.1:1");
  put_hold("a@4", "a", "http://127.0.0.1:1");
  other.hold(gone, gone_revision);
  CHECK(acks_in_etcd("a@3") == 0);
}
