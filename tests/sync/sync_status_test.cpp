#include "banyan/sync/sync_status.hpp"

#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

using namespace banyan::sync;

TEST_CASE("sync status: what a service writes is what a reader reads", "[sync][status]") {
  sync_status s;
  s.source = "http://127.0.0.1:8081";
  s.entity = "product";
  s.state = "following";
  s.applied = 120;
  s.head = 125;
  s.lag_events = 5;
  s.lag_seconds = 0.25;
  s.source_reachable = false;
  s.why = "cannot connect";
  s.events_applied = 100;
  s.events_ignored = 20;
  s.backfill.phase = "done";
  s.backfill.rows_done = 240;
  s.backfill.rows_total = 240;
  s.backfill.position = 12;
  auto back = parse_sync_status(boost::json::serialize(to_json(s)));
  REQUIRE(back);
  CHECK(back->source == s.source);
  CHECK(back->state == "following");
  CHECK(back->lag_events == 5);
  CHECK(back->lag_seconds == Approx(0.25));
  CHECK_FALSE(back->source_reachable);
  CHECK(back->why == "cannot connect");
  CHECK(back->events_ignored == 20);
  CHECK(back->backfill.rows_total == 240);
  CHECK(back->backfill.position == 12);
  CHECK(parse_sync_status(R"({"state":"following"})").error().find("no valid") != std::string::npos);
  auto odd = to_json(s);
  odd["state"] = "sleeping";
  CHECK(parse_sync_status(boost::json::serialize(odd)).error() == "sync status: unknown state \"sleeping\"");
}
