// The sync engine without sockets: pages in, rows and the cursor out, in one SQLite database.
#include "banyan/sync/event_order.hpp"
#include "banyan/sync/sync_engine.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

#include <map>

using namespace banyan;
using namespace banyan::sync;

namespace {

// A sink over one table kv(key, value, note): created/updated puts payload.v, deleted removes.
// Payload {"fail": true} cannot be applied; with {"unique": X}, X must be unique across keys.
class kv_sink final : public entity_sink {
 public:
  std::string_view aggregate() const override { return "thing"; }
  apply_outcome apply_row(sqlite::connection& c, const snapshot_row& row, sync_phase phase) override {
    return put(c, row.key, row.payload, phase);
  }
  apply_outcome apply_event(sqlite::connection& c, const feed_event& e, sync_phase phase) override {
    if (e.type == "thing.deleted") {
      c.prepare("DELETE FROM kv WHERE key = ?").bind(1, e.key).run();
      return apply_outcome::applied();
    }
    if (e.type == "thing.renamed") return apply_outcome::ignored("not kept here");
    return put(c, e.key, e.payload.as_object(), phase);
  }
  int puts = 0;

 private:
  apply_outcome put(sqlite::connection& c, const std::string& key, const boost::json::object& p, sync_phase phase) {
    if (p.contains("throw")) {
      c.prepare("INSERT OR REPLACE INTO kv(key, value, u) VALUES ('partial', 'x', NULL)").run();
      throw std::runtime_error("the sink threw");
    }
    if (p.contains("fail")) {
      // Writes something first: a failed apply must leave none of it.
      c.prepare("INSERT OR REPLACE INTO kv(key, value, u) VALUES ('partial', 'x', NULL)").run();
      return apply_outcome::failed("refused by the test");
    }
    std::optional<std::string> u;
    if (const auto* x = p.if_contains("unique")) u = std::string(x->as_string());
    if (u) {
      auto st = c.prepare("SELECT key FROM kv WHERE u = ? AND key <> ?");
      st.bind_all(*u, key);
      if (st.step()) {
        if (phase == sync_phase::following) return apply_outcome::failed("unique value held by " + st.get_text(0));
        c.prepare("DELETE FROM kv WHERE key = ?").bind(1, st.get_text(0)).run();
      }
    }
    c.prepare("INSERT INTO kv(key, value, u) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET value = ?2, u = ?3")
        .bind_all(key, std::string(p.at("v").as_string()), u)
        .run();
    ++puts;
    return apply_outcome::applied();
  }
};

struct fixture {
  test::temp_dir dir;
  sqlite::connection db{dir.file("service.db")};
  kv_sink sink;
  fixture() { db.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, u TEXT UNIQUE)"); }
  std::map<std::string, std::string> rows() {
    std::map<std::string, std::string> out;
    auto st = db.prepare("SELECT key, value FROM kv");
    while (st.step()) out[st.get_text(0)] = st.get_text(1);
    return out;
  }
};

feed_event ev(std::int64_t id, std::string type, std::string key, std::string payload = R"({"v":"x"})",
              std::string aggregate = "thing") {
  return {id, std::move(type), std::move(aggregate), std::move(key), boost::json::parse(payload), "2026-12-02T10:00:00.000Z"};
}

feed_page page_of(std::vector<feed_event> events, std::int64_t head) {
  feed_page p;
  p.next = events.empty() ? 0 : events.back().id;
  p.head = head;
  p.events = std::move(events);
  return p;
}

snapshot_page snap(std::vector<std::pair<std::string, std::string>> rows, std::string next, bool done) {
  snapshot_page p;
  for (auto& [k, payload] : rows) p.rows.push_back({k, boost::json::parse(payload).as_object()});
  p.next = std::move(next);
  p.done = done;
  p.total = 3;
  return p;
}

// A started sync that has copied nothing and follows from event `position`.
void follow_from(sync_engine& e, std::int64_t position) {
  e.begin_backfill(position);
  REQUIRE_FALSE(e.copy_page(snap({}, "", true), position).stopped);
  REQUIRE(e.state().phase == sync_phase::following);
}

}  // namespace

TEST_CASE("event order: replays are skipped, the sequence must continue exactly", "[sync][order]") {
  const std::vector<feed_event> events{ev(4, "t", "a"), ev(5, "t", "a"), ev(6, "t", "a"), ev(7, "t", "a")};
  auto v = check_order(5, events);
  CHECK(v.first == 2);
  CHECK(v.count == 2);
  CHECK_FALSE(v.broken);

  const std::vector<feed_event> gap{ev(6, "t", "a"), ev(7, "t", "a"), ev(9, "t", "a")};
  v = check_order(5, gap);
  CHECK(v.count == 2);
  CHECK(v.broken);
  CHECK(v.why == "feed gap: expected event 8, got 9");

  const std::vector<feed_event> starts_late{ev(8, "t", "a")};
  v = check_order(5, starts_late);
  CHECK(v.count == 0);
  CHECK(v.broken);
  CHECK(v.why == "feed gap: expected event 6, got 8");

  const std::vector<feed_event> backwards{ev(6, "t", "a"), ev(4, "t", "a")};
  v = check_order(5, backwards);
  CHECK(v.count == 1);
  CHECK(v.why == "feed out of order: expected event 7, got 4");
}

TEST_CASE("sync: events apply in order and a repeated page changes nothing", "[sync]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  follow_from(e, 0);
  auto page = page_of({ev(1, "thing.created", "a", R"({"v":"1"})"), ev(2, "thing.updated", "a", R"({"v":"2"})"),
                       ev(3, "thing.created", "b", R"({"v":"3"})"), ev(4, "thing.deleted", "b")},
                      4);
  auto r = e.apply_page(page);
  CHECK(r.applied == 4);
  CHECK_FALSE(r.stopped);
  CHECK(f.rows() == std::map<std::string, std::string>{{"a", "2"}});
  CHECK(e.state().applied == 4);
  const int puts = f.sink.puts;

  r = e.apply_page(page);  // the same page again (a retry after a lost answer)
  CHECK(r.applied == 0);
  CHECK(r.replayed == 4);
  CHECK(f.sink.puts == puts);  // nothing applied twice
  CHECK(f.rows() == std::map<std::string, std::string>{{"a", "2"}});

  // A page overlapping what was applied applies only the new part.
  r = e.apply_page(page_of({ev(4, "thing.deleted", "b"), ev(5, "thing.updated", "a", R"({"v":"5"})")}, 5));
  CHECK(r.replayed == 1);
  CHECK(r.applied == 1);
  CHECK(f.rows().at("a") == "5");
}

TEST_CASE("sync: the cursor survives a restart and moves with its changes", "[sync]") {
  fixture f;
  {
    sync_engine e(f.db, f.sink, "http://monolith");
    follow_from(e, 10);
    e.apply_page(page_of({ev(11, "thing.created", "a", R"({"v":"1"})")}, 11));
  }
  sync_engine again(f.db, f.sink, "http://monolith");
  CHECK(again.state().exists);
  CHECK(again.state().phase == sync_phase::following);
  CHECK(again.state().applied == 11);
  CHECK(again.state().events_applied == 1);
  // Another source is a separate cursor.
  sync_engine other(f.db, f.sink, "http://elsewhere");
  CHECK_FALSE(other.state().exists);
}

TEST_CASE("sync: a gap stops the sync after the events before it, and says where", "[sync]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  follow_from(e, 0);
  auto r = e.apply_page(page_of({ev(1, "thing.created", "a"), ev(2, "thing.created", "b"), ev(4, "thing.created", "c")}, 4));
  CHECK(r.stopped);
  CHECK(r.why == "feed gap: expected event 3, got 4");
  CHECK(r.applied == 2);
  CHECK(e.state().applied == 2);
  CHECK(f.rows().size() == 2);
  CHECK_FALSE(f.rows().contains("c"));  // never skipped over
}

TEST_CASE("sync: an event that cannot be applied stops the sync, nothing of it remains", "[sync]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  follow_from(e, 0);
  auto r = e.apply_page(page_of({ev(1, "thing.created", "a"), ev(2, "thing.created", "b", R"({"fail":true})"),
                                 ev(3, "thing.created", "c")},
                                3));
  CHECK(r.stopped);
  CHECK(r.why == "event 2 (thing.created b) cannot be applied: refused by the test");
  CHECK(e.state().applied == 1);  // the cursor stays before the event
  CHECK(f.rows() == std::map<std::string, std::string>{{"a", "x"}});  // no 'partial', no 'c'
  // Asked again, it stops again at the same event: never skipped.
  r = e.apply_page(page_of({ev(2, "thing.created", "b", R"({"fail":true})"), ev(3, "thing.created", "c")}, 3));
  CHECK(r.stopped);
  CHECK(e.state().applied == 1);
}

TEST_CASE("sync: a change and its cursor commit together or not at all", "[sync]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  follow_from(e, 0);
  // Recording the cursor fails (as on a full disk): the change made in the same page must go too.
  f.db.exec("CREATE TRIGGER no_cursor BEFORE UPDATE ON sync_state BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  CHECK_THROWS_WITH(e.apply_page(page_of({ev(1, "thing.created", "a")}, 1)), Catch::Contains("disk full"));
  CHECK(e.state().applied == 0);
  CHECK(f.rows().empty());
  sync_engine reread(f.db, f.sink, "http://monolith");
  CHECK(reread.state().applied == 0);
  f.db.exec("DROP TRIGGER no_cursor");
  // Then applied once.
  CHECK(e.apply_page(page_of({ev(1, "thing.created", "a")}, 1)).applied == 1);
  CHECK(f.rows().size() == 1);
}

TEST_CASE("sync: other aggregates' and unknown events are counted as ignored, never silently", "[sync]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  follow_from(e, 0);
  auto r = e.apply_page(page_of({ev(1, "order.placed", "9", R"({})", "order"), ev(2, "thing.renamed", "a")}, 2));
  CHECK(r.ignored == 2);
  CHECK(r.last_ignored == "event 2: not kept here");
  CHECK(e.state().applied == 2);
  CHECK(e.state().events_ignored == 2);
}

TEST_CASE("backfill: the copy resumes at its cursor, then the feed replays from the position taken first", "[sync][backfill]") {
  fixture f;
  {
    sync_engine e(f.db, f.sink, "http://monolith");
    e.begin_backfill(100);
    CHECK(e.state().phase == sync_phase::copying);
    auto r = e.copy_page(snap({{"a", R"({"v":"a0"})"}, {"b", R"({"v":"b0"})"}}, "b", false), 0);
    CHECK(r.applied == 2);
    CHECK(e.state().rows_copied == 2);
    CHECK(e.state().rows_total == 3);
  }
  // A restart (kill -9 here) resumes after "b".
  sync_engine e(f.db, f.sink, "http://monolith");
  CHECK(e.state().copy_cursor == "b");
  CHECK(e.state().phase == sync_phase::copying);
  CHECK(e.apply_page(page_of({ev(101, "thing.created", "z")}, 101)).stopped);  // not while copying
  e.copy_page(snap({{"c", R"({"v":"c0"})"}}, "c", true), 103);
  CHECK(e.state().phase == sync_phase::catching_up);
  CHECK(e.state().catchup_target == 103);
  CHECK(e.state().applied == 100);
  // Writes made during the copy replay over it.
  e.apply_page(page_of({ev(101, "thing.updated", "a", R"({"v":"a1"})"), ev(102, "thing.deleted", "b")}, 103));
  CHECK(e.state().phase == sync_phase::catching_up);
  e.apply_page(page_of({ev(103, "thing.created", "d", R"({"v":"d0"})")}, 103));
  CHECK(e.state().phase == sync_phase::following);
  CHECK_FALSE(e.state().caught_up_at.empty());
  CHECK(f.rows() == std::map<std::string, std::string>{{"a", "a1"}, {"c", "c0"}, {"d", "d0"}});
}

TEST_CASE("backfill: a failing snapshot row stops the copy and keeps its page out", "[sync][backfill]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  e.begin_backfill(0);
  auto r = e.copy_page(snap({{"a", R"({"v":"a"})"}, {"b", R"({"fail":true})"}}, "b", false), 0);
  CHECK(r.stopped);
  CHECK(r.why == "snapshot row b cannot be applied: refused by the test");
  CHECK(f.rows().empty());
  CHECK(e.state().copy_cursor.empty());
  CHECK(e.state().rows_copied == 0);
}

TEST_CASE("backfill: a snapshot row whose sink throws stops the copy, nothing of its page kept (rows share the page's "
          "transaction, not a savepoint each)", "[sync][backfill]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  e.begin_backfill(0);
  auto r = e.copy_page(snap({{"a", R"({"v":"a"})"}, {"b", R"({"throw":true})"}, {"c", R"({"v":"c"})"}}, "c", false), 0);
  CHECK(r.stopped);
  CHECK(r.why == "snapshot row b cannot be applied: the sink threw");
  CHECK(f.rows().empty());
  CHECK(e.state().rows_copied == 0);
  // The same page without the fault copies whole.
  auto ok = e.copy_page(snap({{"a", R"({"v":"a"})"}, {"c", R"({"v":"c"})"}}, "c", false), 0);
  CHECK_FALSE(ok.stopped);
  CHECK(f.rows().size() == 2);
}

TEST_CASE("backfill: a unique value caught between a fuzzy copy and the replay gives way, once following it fails",
          "[sync][backfill]") {
  fixture f;
  sync_engine e(f.db, f.sink, "http://monolith");
  e.begin_backfill(0);
  // The copy read "a" before event 1 moved its unique value X to "b" and read "b" after: both hold X.
  e.copy_page(snap({{"a", R"({"v":"a","unique":"X"})"}, {"b", R"({"v":"b","unique":"X"})"}}, "b", true), 2);
  // Replaying: 1 moves a to Y, 2 gives X to b. History is unique at every point, so it ends right.
  e.apply_page(page_of({ev(1, "thing.updated", "a", R"({"v":"a","unique":"Y"})"),
                        ev(2, "thing.created", "b", R"({"v":"b","unique":"X"})")},
                       2));
  CHECK(e.state().phase == sync_phase::following);
  CHECK(f.rows() == std::map<std::string, std::string>{{"a", "a"}, {"b", "b"}});
  auto r = e.apply_page(page_of({ev(3, "thing.updated", "a", R"({"v":"a","unique":"X"})")}, 3));
  CHECK(r.stopped);
  CHECK(r.why.find("unique value held by b") != std::string::npos);
}

TEST_CASE("feed pages: the protocol's shapes are read, bad ones named", "[sync][feed]") {
  auto p = parse_feed_page(
      R"({"events":[{"id":3,"type":"product.updated","aggregate":"product","key":"7","payload":{"id":7},"at":"2026-12-02T10:00:00.000Z"}],"next":3,"head":9})");
  REQUIRE(p);
  CHECK(p->events.size() == 1);
  CHECK(p->events[0].key == "7");
  CHECK(p->head == 9);
  CHECK(parse_feed_page(R"({"events":[],"next":0})").error().find("\"head\"") != std::string::npos);
  CHECK(parse_feed_page(R"({"events":[{"id":0}],"next":0,"head":0})").error() ==
        "feed page: events[0]: no positive integer \"id\"");
  CHECK(parse_feed_page("nope").error().rfind("feed page: not JSON", 0) == 0);
  auto s = parse_snapshot_page(R"({"items":[{"key":7,"payload":{"id":7}}],"next":"7","done":false,"total":240})");
  REQUIRE(s);
  CHECK(s->rows[0].key == "7");
  CHECK(*s->total == 240);
  CHECK_FALSE(parse_snapshot_page(R"({"items":[],"next":"7"})"));
  CHECK(snapshot_target("product", "a b/7", 10) == "/internal/snapshot/product?limit=10&after=a%20b%2F7");
  CHECK(events_target(5, 100) == "/internal/events?after=5&limit=100");
}
