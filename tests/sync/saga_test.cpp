// Sagas without sockets: the decision for every state and answer, and the store that keeps them in
// the initiator's own database — each answer once, the deadline, the stuck ones.
#include "banyan/sync/saga.hpp"
#include "banyan/sync/saga_store.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace banyan;
using namespace banyan::sync::saga;

namespace {
state running_saga() {
  state s;
  s.id = "order-7";
  s.kind = "order.shipment";
  s.step = "shipment booking";
  s.started_ms = s.step_since_ms = 1'000'000;
  s.deadline_ms = 1'030'000;
  return s;
}
input answer(input::kind k, std::string event, std::string reason = {}) { return {k, std::move(event), std::move(reason), 1'001'000}; }
}  // namespace

TEST_CASE("saga: the first answer decides — a success completes, a failure or the deadline compensates") {
  const auto s = running_saga();
  CHECK(decide(s, answer(input::kind::succeeded, "e1")).what == decision::action::complete);
  const auto failed = decide(s, answer(input::kind::failed, "e1", "no carrier serves Antarctica"));
  CHECK(failed.what == decision::action::compensate);
  CHECK(failed.reason == "shipment booking failed: no carrier serves Antarctica");
  // The deadline: not before it, and at it the saga is compensated, saying how long it waited.
  CHECK(decide(s, {input::kind::deadline, {}, {}, 1'029'999}).what == decision::action::none);
  const auto late = decide(s, {input::kind::deadline, {}, {}, 1'030'000});
  CHECK(late.what == decision::action::compensate);
  CHECK(late.reason == "no answer to shipment booking within 30 s");
  auto no_deadline = s;
  no_deadline.deadline_ms = 0;
  CHECK(decide(no_deadline, {input::kind::deadline, {}, {}, 9'999'999'999}).what == decision::action::none);
}

TEST_CASE("saga: an ended saga stays ended — duplicates do nothing, a late success is named") {
  auto done = running_saga();
  done.at = status::completed;
  CHECK(decide(done, answer(input::kind::succeeded, "e2")).what == decision::action::none);
  CHECK(decide(done, answer(input::kind::failed, "e2")).what == decision::action::none);
  CHECK(decide(done, {input::kind::deadline, {}, {}, 2'000'000}).what == decision::action::none);
  auto undone = running_saga();
  undone.at = status::compensated;
  undone.reason = "no answer to shipment booking within 30 s";
  const auto late = decide(undone, answer(input::kind::succeeded, "e3"));
  CHECK(late.what == decision::action::late_answer);
  CHECK(late.reason.find("after the saga was compensated (no answer to shipment booking within 30 s)") != std::string::npos);
  CHECK(decide(undone, answer(input::kind::failed, "e3")).what == decision::action::none);
}

TEST_CASE("saga store: each answer once, in the caller's transaction, and the state it moves to") {
  test::temp_dir dir;
  sqlite::connection c(dir.file("app.db"));
  create_tables(c);
  create_tables(c);  // again: nothing happens
  CHECK(begin(c, "order-1", "order.shipment", "shipment booking", 1'000, 31'000));
  CHECK_FALSE(begin(c, "order-1", "order.shipment", "shipment booking", 2'000, 32'000));  // one saga per id
  REQUIRE(find(c, "order-1"));
  CHECK(find(c, "order-1")->at == status::running);
  CHECK_FALSE(find(c, "order-2"));

  // An answer rolled back with its transaction is not recorded: handled again, it decides again.
  {
    sqlite::transaction tx(c);
    CHECK(handle(c, "order-1", {input::kind::succeeded, "shipping#5", {}, 5'000}).what == decision::action::complete);
  }
  CHECK(find(c, "order-1")->at == status::running);
  {
    sqlite::transaction tx(c);
    CHECK(handle(c, "order-1", {input::kind::succeeded, "shipping#5", {}, 5'000}).what == decision::action::complete);
    tx.commit();
  }
  const auto done = find(c, "order-1");
  CHECK(done->at == status::completed);
  CHECK(done->step_since_ms == 5'000);
  // The same event again (a feed replayed after a crash): nothing.
  const auto again = handle(c, "order-1", {input::kind::succeeded, "shipping#5", {}, 6'000});
  CHECK(again.what == decision::action::none);
  CHECK(again.reason == "event shipping#5 was handled already");
  CHECK(handle(c, "order-9", {input::kind::succeeded, "shipping#6", {}, 6'000}).reason == "no saga order-9");

  // A failure compensates, and keeps the reason; a late success after it is named and recorded.
  begin(c, "order-2", "order.shipment", "shipment booking", 1'000, 31'000);
  CHECK(handle(c, "order-2", {input::kind::failed, "shipping#7", "carrier down", 7'000}).what ==
        decision::action::compensate);
  CHECK(find(c, "order-2")->reason == "shipment booking failed: carrier down");
  CHECK(handle(c, "order-2", {input::kind::succeeded, "shipping#8", {}, 8'000}).what == decision::action::late_answer);
  CHECK(find(c, "order-2")->at == status::compensated);

  // The initiator ends one itself (the customer cancelled): compensated; a success after is late.
  begin(c, "order-3", "order.shipment", "shipment booking", 1'000, 31'000);
  CHECK(abandon(c, "order-3", "cancelled by the customer", 9'000));
  CHECK_FALSE(abandon(c, "order-3", "again", 9'500));
  CHECK(find(c, "order-3")->reason == "cancelled by the customer");
  CHECK(handle(c, "order-3", {input::kind::succeeded, "shipping#9", {}, 10'000}).what == decision::action::late_answer);
}

TEST_CASE("saga store: the deadline — due sagas for the sweeper, stuck ones for the operator") {
  test::temp_dir dir;
  sqlite::connection c(dir.file("app.db"));
  create_tables(c);
  begin(c, "order-1", "order.shipment", "shipment booking", 1'000, 31'000);
  begin(c, "order-2", "order.shipment", "shipment booking", 2'000, 32'000);
  begin(c, "order-3", "order.shipment", "shipment booking", 3'000, 0);  // no deadline
  CHECK(due(c, 30'999, 10).empty());
  const auto first = due(c, 31'500, 10);
  REQUIRE(first.size() == 1);
  CHECK(first[0].id == "order-1");
  CHECK(due(c, 40'000, 10).size() == 2);
  CHECK(due(c, 40'000, 1).size() == 1);
  // The sweeper compensates one: it is due no more.
  CHECK(handle(c, "order-1", {input::kind::deadline, {}, {}, 31'500}).what == decision::action::compensate);
  CHECK(due(c, 40'000, 10).size() == 1);

  // Stuck: running past the deadline (the sweeper is behind), or longer than the limit.
  list_filter stuck;
  stuck.stuck = true;
  stuck.now_ms = 40'000;
  stuck.stuck_after_ms = 60'000;
  auto l = list(c, stuck);
  REQUIRE(l.size() == 1);
  CHECK(l[0].id == "order-2");
  stuck.now_ms = 70'000;  // order-3, no deadline, has run 67 s
  CHECK(list(c, stuck).size() == 2);
  list_filter all;
  all.now_ms = 70'000;
  l = list(c, all);
  REQUIRE(l.size() == 3);
  CHECK(l[0].id == "order-3");  // newest first
  list_filter compensated;
  compensated.only = status::compensated;
  CHECK(list(c, compensated).size() == 1);
  const auto n = count(c, 70'000, 60'000);
  CHECK(n.running == 2);
  CHECK(n.compensated == 1);
  CHECK(n.completed == 0);
  CHECK(n.stuck == 2);
  const auto j = to_json(*find(c, "order-2"), 40'000);
  CHECK(j.at("status") == "running");
  CHECK(j.at("overdue") == true);
  CHECK(j.at("waiting_ms") == 38'000);
  CHECK(j.at("step") == "shipment booking");
}
