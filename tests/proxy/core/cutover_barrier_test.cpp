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
  CHECK(moves[0].from == "monolith");
  CHECK(moves[0].to == "catalog");
  // And back: a rollback moves them to the monolith.
  const auto back = write_owner_changes(after.get(), *before);
  REQUIRE(back.size() == 1);
  CHECK(back[0].from == "catalog");
  CHECK(back[0].to == "monolith");
  CHECK(write_owner_changes(before.get(), *before).empty());
}

TEST_CASE("barrier: routes added or removed count from the monolith") {
  const auto none = table_of({});
  const auto owned = table_of({catalog_route("writes", "/api/products", route_mode::service, {"POST"})});
  const auto added = write_owner_changes(none.get(), *owned);
  REQUIRE(added.size() == 1);
  CHECK(added[0].from == "monolith");
  const auto removed = write_owner_changes(owned.get(), *none);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].from == "catalog");
  CHECK(removed[0].to == "monolith");
  CHECK(write_owner_changes(nullptr, *none).empty());
}

TEST_CASE("barrier: a canary that splits writes is refused, at 0 % and 100 % it has one owner") {
  const auto before = table_of({catalog_route("writes", "/api/products", route_mode::monolith, {"POST"})});
  std::vector<std::string> split;
  const auto half = table_of({catalog_route("writes", "/api/products", route_mode::canary, {"POST"}, 5000)});
  CHECK(write_owner_changes(before.get(), *half, &split).empty());
  REQUIRE(split.size() == 1);
  CHECK(split[0] == "writes");
  split.clear();
  const auto all = table_of({catalog_route("writes", "/api/products", route_mode::canary, {"POST"}, 10000)});
  CHECK(write_owner_changes(before.get(), *all, &split).size() == 1);
  CHECK(split.empty());
  const auto zero = table_of({catalog_route("writes", "/api/products", route_mode::canary, {"POST"}, 0)});
  CHECK(write_owner_changes(before.get(), *zero, &split).empty());
  CHECK(split.empty());
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
