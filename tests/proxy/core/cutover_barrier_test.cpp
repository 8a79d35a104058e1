// The cut-over barrier's decisions, without a proxy: which routes' writes move, what is held, and
// each step of a barrier from what the proxy would observe.
#include "banyan/proxy/cutover_barrier.hpp"

#include "support/routes.hpp"

#include <catch2/catch.hpp>

using namespace banyan::proxy;
using banyan::test::catalog_route;
using banyan::test::table_of;
using namespace std::chrono_literals;

namespace {
barrier_observation caught_up_at(std::int64_t head) {
  barrier_observation o;
  o.source_head = head;
  o.target_answered = true;
  o.target_state = "following";
  o.target_applied = head;
  return o;
}
}  // namespace

TEST_CASE("barrier: only routes whose writes change owner move") {
  const auto before = table_of({catalog_route("reads", "/api/products/**", route_mode::service, {"GET"}),
                                catalog_route("writes", "/api/products/**", route_mode::shadow, {"POST", "PUT", "DELETE"}),
                                catalog_route("orders", "/api/orders/**", route_mode::monolith, {})});
  const auto after = table_of({catalog_route("reads", "/api/products/**", route_mode::monolith, {"GET"}),
                               catalog_route("writes", "/api/products/**", route_mode::service, {"POST", "PUT", "DELETE"}),
                               catalog_route("orders", "/api/orders/**", route_mode::shadow, {})});
  const auto moves = write_owner_changes(before.get(), *after);
  REQUIRE(moves.size() == 1);  // reads take no writes; orders stay with the monolith in shadow
  CHECK(moves[0].route_id == "writes");
  CHECK(describe(moves[0].from) == "monolith");
  CHECK(describe(moves[0].to) == "catalog");
  // And back: a rollback moves them to the monolith.
  const auto back = write_owner_changes(after.get(), *before);
  REQUIRE(back.size() == 1);
  CHECK(describe(back[0].from) == "catalog");
  CHECK(describe(back[0].to) == "monolith");
  CHECK(write_owner_changes(before.get(), *before).empty());
}

TEST_CASE("barrier: routes added or removed count from the monolith") {
  const auto none = table_of({});
  const auto owned = table_of({catalog_route("writes", "/api/products", route_mode::service, {"POST"})});
  const auto added = write_owner_changes(none.get(), *owned);
  REQUIRE(added.size() == 1);
  CHECK(describe(added[0].from) == "monolith");
  const auto removed = write_owner_changes(owned.get(), *none);
  REQUIRE(removed.size() == 1);
  CHECK(describe(removed[0].from) == "catalog");
  CHECK(describe(removed[0].to) == "monolith");
  CHECK(write_owner_changes(nullptr, *none).empty());
}

TEST_CASE("barrier: a canary splits writes between two owners, at 0 % and 100 % it has one") {
  const auto before = table_of({catalog_route("writes", "/api/products", route_mode::monolith, {"POST"})});
  std::vector<std::string> split;
  const auto half = table_of({catalog_route("writes", "/api/products", route_mode::canary, {"POST"}, 3000)});
  const auto into = write_owner_changes(before.get(), *half, &split);
  REQUIRE(split.size() == 1);  // listed for the admin API, which refuses it when data follows a feed
  CHECK(split[0] == "writes");
  REQUIRE(into.size() == 1);  // and a move like any other: some users' writes now go to the service
  CHECK(describe(into[0].to) == "writes split 30/70 between catalog and the monolith");
  CHECK(handover_pairs(into[0]) == std::vector<std::pair<std::string, std::string>>{{"monolith", "catalog"}});
  split.clear();
  const auto all = table_of({catalog_route("writes", "/api/products", route_mode::canary, {"POST"}, 10000)});
  CHECK(write_owner_changes(before.get(), *all, &split).size() == 1);
  CHECK(split.empty());
  const auto zero = table_of({catalog_route("writes", "/api/products", route_mode::canary, {"POST"}, 0)});
  CHECK(write_owner_changes(before.get(), *zero, &split).empty());
  CHECK(split.empty());
}

// Issue 20: after `route set item canary --percent 30`, every change of the route failed with
// "item split → svc … not a URL: ''": the split was taken for an owner with a URL.
TEST_CASE("barrier: a split route moves on — raised, promoted, rolled back — with real owners on each leg") {
  using pairs = std::vector<std::pair<std::string, std::string>>;
  const auto at30 = table_of({catalog_route("item", "/items/{id}", route_mode::canary, {"GET", "PUT"}, 3000)});
  const auto at60 = table_of({catalog_route("item", "/items/{id}", route_mode::canary, {"GET", "PUT"}, 6000)});
  const auto svc = table_of({catalog_route("item", "/items/{id}", route_mode::service, {"GET", "PUT"})});
  const auto mono = table_of({catalog_route("item", "/items/{id}", route_mode::monolith, {"GET", "PUT"})});

  const auto raised = write_owner_changes(at30.get(), *at60);
  REQUIRE(raised.size() == 1);
  CHECK(describe(raised[0].from) == "writes split 30/70 between catalog and the monolith");
  CHECK(describe(raised[0].to) == "writes split 60/40 between catalog and the monolith");
  CHECK_FALSE(raised[0].new_route);
  CHECK(handover_pairs(raised[0]) == pairs{{"monolith", "catalog"}, {"catalog", "monolith"}});

  const auto promoted = write_owner_changes(at30.get(), *svc);
  REQUIRE(promoted.size() == 1);
  CHECK(handover_pairs(promoted[0]) == pairs{{"monolith", "catalog"}});

  const auto back = write_owner_changes(at30.get(), *mono);
  REQUIRE(back.size() == 1);
  CHECK(handover_pairs(back[0]) == pairs{{"catalog", "monolith"}});
  // Every leg names an owner that has a URL: never "split", never "".
  for (const auto* m : {&raised[0], &promoted[0], &back[0]})
    for (const auto& [from, to] : handover_pairs(*m)) {
      CHECK((from == "monolith" || from == "catalog"));
      CHECK((to == "monolith" || to == "catalog"));
    }
  // The same split on both sides moves nothing.
  CHECK(write_owner_changes(at30.get(), *at30).empty());
}

TEST_CASE("barrier: a change that leaves one service's write routes on two owners is found") {
  const auto before = table_of({catalog_route("create", "/api/products", route_mode::monolith, {"POST"}),
                                catalog_route("change", "/api/products/{id}", route_mode::monolith, {"PUT", "DELETE"}),
                                catalog_route("read", "/api/products/{id}", route_mode::monolith, {"GET"})});
  const auto one = table_of({catalog_route("create", "/api/products", route_mode::service, {"POST"}),
                             catalog_route("change", "/api/products/{id}", route_mode::monolith, {"PUT", "DELETE"}),
                             catalog_route("read", "/api/products/{id}", route_mode::monolith, {"GET"})});
  auto divided = writes_divided_by_route(*one, write_owner_changes(before.get(), *one));
  REQUIRE(divided.size() == 1);
  CHECK(divided[0].service == "catalog");
  CHECK(divided[0].moved == std::vector<std::string>{"create"});
  CHECK(divided[0].left == std::vector<std::string>{"change"});  // the read route takes no writes
  CHECK(divided[0].moved_to == "catalog");
  // Both in one change: one owner.
  const auto both = table_of({catalog_route("create", "/api/products", route_mode::service, {"POST"}),
                              catalog_route("change", "/api/products/{id}", route_mode::service, {"PUT", "DELETE"}),
                              catalog_route("read", "/api/products/{id}", route_mode::monolith, {"GET"})});
  CHECK(writes_divided_by_route(*both, write_owner_changes(before.get(), *both)).empty());
  // Bringing the second route along heals a divided state; it is not refused for the first.
  CHECK(writes_divided_by_route(*both, write_owner_changes(one.get(), *both)).empty());
  // Back one at a time is divided too.
  divided = writes_divided_by_route(*one, write_owner_changes(both.get(), *one));
  REQUIRE(divided.size() == 1);
  CHECK(divided[0].moved == std::vector<std::string>{"change"});
  CHECK(divided[0].moved_to == "monolith");
  // A change that moves none of them says nothing about a division already there.
  CHECK(writes_divided_by_route(*one, {}).empty());
}

TEST_CASE("barrier: writes on a moving route are held, reads never") {
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
    CHECK(barrier_holds(true, m));
    CHECK_FALSE(barrier_holds(false, m));
  }
  for (const char* m : {"GET", "HEAD", "OPTIONS"}) CHECK_FALSE(barrier_holds(true, m));
}

TEST_CASE("barrier: the steps in order, as the observations come in") {
  const barrier_settings s{5000ms};
  barrier_observation o;
  o.in_flight_writes = 2;
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_in_flight);
  o.in_flight_writes = 0;
  CHECK(next_barrier_step(s, o).step == barrier_step::read_source_head);
  o.source_head = 120;
  o.target_answered = true;
  o.target_state = "following";
  o.target_applied = 118;
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_for_sync);
  o.target_applied = 120;
  CHECK(next_barrier_step(s, o).step == barrier_step::switch_now);
  o.target_applied = 121;  // ahead of the head read (another writer's event after it): still caught up
  CHECK(next_barrier_step(s, o).step == barrier_step::switch_now);
}

TEST_CASE("barrier: never switches with writes in flight or before the head is applied") {
  const barrier_settings s{5000ms};
  auto o = caught_up_at(50);
  o.in_flight_writes = 1;
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_in_flight);
  o = caught_up_at(50);
  o.target_state = "backfilling";
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_for_sync);
  o = caught_up_at(50);
  o.target_answered = false;
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_for_sync);
  o = caught_up_at(50);
  o.source_head.reset();
  CHECK(next_barrier_step(s, o).step == barrier_step::read_source_head);
}

TEST_CASE("barrier: gives up at the hold limit, saying what it waited for") {
  const barrier_settings s{3000ms};
  barrier_observation o;
  o.elapsed = 3000ms;
  o.in_flight_writes = 1;
  auto v = next_barrier_step(s, o);
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason == "no cut-over within 3000 ms: 1 write was still in flight to the old owner");
  o.in_flight_writes = 0;
  o.source_head = 200;
  o.target_answered = true;
  o.target_state = "following";
  o.target_applied = 150;
  v = next_barrier_step(s, o);
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason == "no cut-over within 3000 ms: the new owner had applied 150 of 200 (50 events behind)");
  o.target_answered = false;
  o.target_problem = "unreachable";
  CHECK(next_barrier_step(s, o).reason ==
        "no cut-over within 3000 ms: the new owner did not report its sync status: unreachable");
  // Caught up exactly at the limit still switches: the condition, not the clock, decides.
  auto done = caught_up_at(200);
  done.elapsed = 3000ms;
  CHECK(next_barrier_step(s, done).step == barrier_step::switch_now);
}

TEST_CASE("barrier: a stopped sync gives up at once") {
  auto o = caught_up_at(10);
  o.target_state = "stopped";
  o.target_why = "feed gap after event 9";
  const auto v = next_barrier_step({5000ms}, o);
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason == "the new owner's sync is stopped: feed gap after event 9");
}

TEST_CASE("barrier: an old owner without a feed needs only its in-flight writes finished") {
  barrier_observation o;
  o.source_has_no_feed = true;
  o.in_flight_writes = 1;
  CHECK(next_barrier_step({5000ms}, o).step == barrier_step::wait_in_flight);
  o.in_flight_writes = 0;
  CHECK(next_barrier_step({5000ms}, o).step == barrier_step::switch_now);  // no sync status needed
  o.route_is_new = true;  // nothing follows its data: nothing to lose by not holding it
  CHECK(next_barrier_step({5000ms}, o).step == barrier_step::switch_now);
}

TEST_CASE("barrier: a route new in the change cannot move writes of data that follows a feed") {
  const auto before = table_of({catalog_route("reads", "/api/products", route_mode::service, {"GET"})});
  const auto after = table_of({catalog_route("reads", "/api/products", route_mode::service, {"GET"}),
                               catalog_route("writes", "/api/products", route_mode::service, {"POST"})});
  const auto moves = write_owner_changes(before.get(), *after);
  REQUIRE(moves.size() == 1);
  CHECK(moves[0].new_route);
  auto o = caught_up_at(10);
  o.route_is_new = true;
  const auto v = next_barrier_step({5000ms}, o);
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason.find("the route is new in this change") == 0);
  // The first routing ever has nothing live to hold: nothing is new against it.
  CHECK_FALSE(write_owner_changes(nullptr, *after)[0].new_route);
}

TEST_CASE("barrier: a new owner following another feed gives up at once") {
  auto o = caught_up_at(10);
  o.target_follows_source = false;
  o.target_source = "http://127.0.0.1:9999";
  const auto v = next_barrier_step({5000ms}, o);
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason == "the new owner follows http://127.0.0.1:9999, not the old owner's feed");
}

TEST_CASE("barrier: several pairs switch together, wait for the slowest, give up with the first that must") {
  const barrier_verdict sw{barrier_step::switch_now, {}}, in_flight{barrier_step::wait_in_flight, {}},
      sync{barrier_step::wait_for_sync, {}}, gone{barrier_step::give_up, "lagging"};
  CHECK(combine_barrier_steps({sw, sw}).step == barrier_step::switch_now);
  CHECK(combine_barrier_steps({sw, sync}).step == barrier_step::wait_for_sync);
  CHECK(combine_barrier_steps({sync, in_flight, sw}).step == barrier_step::wait_in_flight);
  const auto v = combine_barrier_steps({sw, sync, gone});
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason == "lagging");
  CHECK(combine_barrier_steps({}).step == barrier_step::switch_now);
}

TEST_CASE("barrier: in a fleet, nothing is read or switched until every instance holds the writes") {
  const barrier_settings s{3000ms};
  auto o = caught_up_at(50);
  o.fleet_waiting_for = "instances not yet holding these writes: b:9901";
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_in_flight);
  o.source_head.reset();
  o.source_has_no_feed = true;  // no feed: only the writes in flight matter — the fleet's too
  CHECK(next_barrier_step(s, o).step == barrier_step::wait_in_flight);
  o.elapsed = 3000ms;
  const auto v = next_barrier_step(s, o);
  CHECK(v.step == barrier_step::give_up);
  CHECK(v.reason == "no cut-over within 3000 ms: waiting for the fleet: instances not yet holding these writes: b:9901");
  o.elapsed = 0ms;
  o.fleet_waiting_for.clear();
  CHECK(next_barrier_step(s, o).step == barrier_step::switch_now);
}
