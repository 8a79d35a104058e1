// banyan-sync's PostgreSQL engine against a real server of the test's own (initdb, a Unix socket,
// wal_level = logical): the app writes on its own connections as an app would; capture by logical
// decoding, apply with a replication origin, restarts of either side, a slot dropped, the schema
// changing mid-stream, the WAL a slot holds.
#include "banyan/sync/pg_apply_store.hpp"
#include "banyan/sync/pg_capture.hpp"
#include "banyan/sync/sync_engine.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <random>
#include <thread>

using namespace banyan;
using namespace banyan::sync;
using banyan::test::postgres_server;
using banyan::test::temp_dir;
namespace json = boost::json;

namespace {

const char* const app_schema =
    "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, note text, big text, price numeric(10,2),"
    " active boolean, tags jsonb, seen timestamptz);"
    "CREATE TABLE prices (region text, sku text, cents int NOT NULL, PRIMARY KEY (region, sku));";

field_map field(const char* name, field_type t = field_type::automatic) { return {name, name, t, {}}; }

data_map app_map() {
  data_map m;
  aggregate_map items;
  items.name = "item";
  items.table = "items";
  items.key = {"id"};
  items.fields = {field("id"), field("name"), field("note"), field("big"), field("price"), field("active"), field("tags"), field("seen")};
  aggregate_map prices;
  prices.name = "price";
  prices.table = "prices";
  prices.key = {"region", "sku"};
  prices.fields = {field("region"), field("sku"), field("cents")};
  m.aggregates = {items, prices};
  return m;
}

// A database with the app's schema, and banyan-sync's capture on it (installed, running).
struct captured_db {
  postgres_server& server;
  std::string name;
  temp_dir state;
  data_map map = app_map();
  std::unique_ptr<pg_capture> capture;

  captured_db(postgres_server& s, std::string db, bool start = true) : server(s), name(std::move(db)) {
    server.create_database(name);
    server.connect(name).exec(app_schema);
    if (start) open();
  }
  void open() {
    pg_capture_options o;
    o.conninfo = server.url(name);
    o.state_dir = state.path().string();
    capture = std::make_unique<pg_capture>(o);
    const auto report = capture->check(map);
    REQUIRE(report.problems.empty());
    capture->install(map, false);
    capture->start();
  }
  void close() {
    capture->stop();
    capture.reset();
  }
  // Until capture says it stopped (the decoder sees the cause in the stream a moment after).
  void wait_until_broken() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (capture->broken().empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The whole feed from `after`, page by page.
  std::vector<feed_event> feed(std::int64_t after = 0) {
    std::vector<feed_event> all;
    for (;;) {
      auto page = capture->events(after, 200);
      INFO((page ? std::string() : page.error()));
      REQUIRE(page);
      if (page->events.empty()) return all;
      for (auto& e : page->events) all.push_back(std::move(e));
      after = page->next;
    }
  }
};

// The table's rows as text, in key order: what two databases are compared by.
std::vector<std::string> rows_of(pg::connection& c, const std::string& table) {
  auto r = c.exec("SELECT t::text FROM " + table + " t ORDER BY 1");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
  return out;
}

// Applies `events` into `db` (a second database with the schema) through the engine, following
// from position 0 as a follower that already has the (empty) rows.
void apply_feed(postgres_server& server, const std::string& db, const data_map& map, const std::vector<feed_event>& events) {
  for (const auto& a : map.aggregates) {
    pg_apply_store store(server.url(db), a);
    sync_engine engine(store, "test#" + a.name);
    if (!engine.state().exists) engine.begin_following(0);
    feed_page page;
    page.events = events;
    page.head = events.empty() ? 0 : events.back().id;
    const auto r = engine.apply_page(page);
    INFO(r.why);
    REQUIRE_FALSE(r.stopped);
  }
}

void check_consecutive(const std::vector<feed_event>& events, std::int64_t first = 1) {
  for (std::size_t i = 0; i < events.size(); ++i) REQUIRE(events[i].id == first + static_cast<std::int64_t>(i));
}

}  // namespace

TEST_CASE("pg engine: concurrent writers, rollbacks, NULLs, unicode, 1 MiB values, composite keys, key updates and "
          "deletes replay to the same rows") {
  postgres_server server;
  captured_db app(server, "app");
  server.create_database("copy");
  server.connect("copy").exec(app_schema);

  std::atomic<int> rolled_back{0};
  auto writer = [&](int seed) {
    auto c = server.connect("app");
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (int t = 0; t < 40; ++t) {
      c.exec("BEGIN");
      const int ops = 1 + static_cast<int>(rng() % 4);
      for (int o = 0; o < ops; ++o) {
        const auto pick = rng() % 7;
        const auto id = std::to_string(1 + rng() % 30);
        if (pick == 0)
          c.exec("INSERT INTO items(name, note, price, active, tags, seen) VALUES ($1, NULL, 12.5, true, '{\"k\": [1, 2]}',"
                 " now())",
                 {"名前 " + std::to_string(seed) + " ✓"});
        else if (pick == 1)
          c.exec("UPDATE items SET big = repeat(md5(random()::text), 32768) WHERE id = $1", {id});  // 1 MiB: TOASTed
        else if (pick == 2)
          c.exec("UPDATE items SET name = name || '!', note = CASE WHEN note IS NULL THEN 'n' END WHERE id = $1", {id});
        else if (pick == 3) c.exec("DELETE FROM items WHERE id = $1", {id});
        else if (pick == 4)
          c.exec("UPDATE items SET id = id + 1000 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM items WHERE id = $1::bigint + 1000)",
                 {id});
        else if (pick == 5)
          c.exec("INSERT INTO prices VALUES ('EU', $1, 1) ON CONFLICT (region, sku) DO UPDATE SET cents = prices.cents + 1", {id});
        else
          c.exec("UPDATE prices SET sku = sku || 'x' WHERE region = 'EU' AND sku = $1 AND NOT EXISTS (SELECT 1 FROM prices"
                 " WHERE region = 'EU' AND sku = $1 || 'x')",
                 {id});
      }
      if (rng() % 5 == 0) {
        c.exec("ROLLBACK");
        ++rolled_back;
      } else {
        c.exec("COMMIT");
      }
    }
  };
  {
    auto c = server.connect("app");
    for (int i = 0; i < 20; ++i) c.exec("INSERT INTO items(name) VALUES ('seed')");
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) writers.emplace_back(writer, w + 1);
  for (auto& t : writers) t.join();
  CHECK(rolled_back > 0);

  const auto events = app.feed();  // events() waits until everything committed is logged
  check_consecutive(events);
  REQUIRE(app.capture->head() == static_cast<std::int64_t>(events.size()));
  apply_feed(server, "copy", app.map, events);

  auto a = server.connect("app");
  auto b = server.connect("copy");
  CHECK(rows_of(a, "items") == rows_of(b, "items"));
  CHECK(rows_of(a, "prices") == rows_of(b, "prices"));
  CHECK(rows_of(a, "items").size() > 10);
  // The copy's sequence moved past every id applied: its next insert takes a new one.
  const auto max_id = b.exec("SELECT max(id) FROM items").int64(0, 0);
  CHECK(b.exec("SELECT nextval('items_id_seq')").int64(0, 0) > max_id);
}

TEST_CASE("pg engine: the applier's writes are not captured (no echo), and the refusal lets only the applier through") {
  postgres_server server;
  captured_db svc(server, "svc");
  auto c = server.connect("svc");
  c.exec("INSERT INTO items(name) VALUES ('own')");
  REQUIRE(svc.capture->head() == 1);

  feed_event e;
  e.id = 1;
  e.type = "item.created";
  e.aggregate = "item";
  e.key = "500";
  e.payload = json::object{{"id", 500}, {"name", "from the feed"}, {"note", nullptr}, {"big", nullptr},
                           {"price", 3.25}, {"active", false}, {"tags", json::array{1}}, {"seen", "2026-01-02T03:04:05Z"}};
  apply_feed(server, "svc", svc.map, {e});
  CHECK(c.exec("SELECT name FROM items WHERE id = 500").text(0, 0) == "from the feed");
  CHECK(svc.capture->head() == 1);  // nothing of the applier's came back as an event

  // foreign_writes: refuse — the fence up and refusing: the app is refused, the applier is not.
  svc.capture->install(svc.map, true);
  fence_state f;
  f.up = true;
  f.since = svc.capture->head();
  f.owner = "svc";
  f.refuse = true;
  svc.capture->set_fence(f);
  try {
    c.exec("UPDATE items SET name = 'app' WHERE id = 500");
    FAIL("the app's write went through the refusal");
  } catch (const pg::error& err) {
    CHECK(std::string(err.what()).find("belong to another owner now") != std::string::npos);
  }
  e.id = 2;
  e.type = "item.updated";
  e.payload.as_object()["name"] = "applied under the fence";
  apply_feed(server, "svc", svc.map, {e});
  CHECK(c.exec("SELECT name FROM items WHERE id = 500").text(0, 0) == "applied under the fence");
  CHECK(svc.capture->foreign().count == 0);

  // Counted, not refused: a foreign write is captured and listed.
  svc.capture->install(svc.map, false);
  c.exec("UPDATE items SET name = 'app' WHERE id = 500");
  (void)svc.capture->head();
  const auto fw = svc.capture->foreign();
  CHECK(fw.count == 1);
  REQUIRE(fw.latest.size() == 1);
  CHECK(fw.latest[0].key == "500");
}

TEST_CASE("pg engine: capture stopped, PostgreSQL restarted (fast and immediate): nothing lost, nothing logged twice") {
  postgres_server server;
  captured_db app(server, "app");
  std::atomic<bool> writing{true};
  std::atomic<int> committed{0};
  std::thread writer([&] {
    std::unique_ptr<pg::connection> c;
    while (writing) {
      try {
        if (!c || !c->ok()) c = std::make_unique<pg::connection>(server.url("app"));
        c->exec("INSERT INTO items(name) VALUES ('w')");
        ++committed;
      } catch (const std::exception&) {
        c.reset();  // the server is restarting: the insert did not commit (an error says so)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
  auto wait_for_rows = [&](int n) {
    while (committed < n) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  wait_for_rows(50);
  app.close();  // banyan-sync stopped while the app writes on
  wait_for_rows(100);
  app.open();
  wait_for_rows(150);
  server.restart("fast");
  wait_for_rows(200);
  server.restart("immediate");  // as a crash: recovery replays the WAL
  wait_for_rows(250);
  writing = false;
  writer.join();

  const auto events = app.feed();
  check_consecutive(events);
  auto c = server.connect("app");
  const auto rows = c.exec("SELECT count(*) FROM items").int64(0, 0);
  CHECK(static_cast<std::int64_t>(events.size()) == rows);  // every insert once: none lost, none twice
  std::set<std::string> keys;
  for (const auto& e : events) keys.insert(e.key);
  CHECK(keys.size() == events.size());
}

TEST_CASE("pg engine: a slot dropped behind its back stops capture, and a new slot tells old followers to copy again") {
  postgres_server server;
  captured_db app(server, "app");
  auto c = server.connect("app");
  c.exec("INSERT INTO items(name) VALUES ('a'), ('b')");
  REQUIRE(app.capture->head() == 2);
  // Someone drops the slot: its walsender is ended first (an active slot cannot be dropped).
  for (int attempt = 0;; ++attempt) {
    try {
      c.exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'banyan_sync_app' AND active");
      c.exec("SELECT pg_drop_replication_slot('banyan_sync_app')");
      break;
    } catch (const pg::error&) {
      REQUIRE(attempt < 100);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  c.exec("INSERT INTO items(name) VALUES ('lost to the feed')");
  app.wait_until_broken();
  const auto why = app.capture->broken();
  CHECK(why.find("replication slot banyan_sync_app is gone") != std::string::npos);
  CHECK(why.find("copy again") != std::string::npos);
  CHECK_FALSE(app.capture->events(0, 10));  // a broken capture answers nothing as if whole

  // Started again: a new slot; a follower at 2 is told it must copy again, a new one copies.
  app.close();
  app.open();
  auto page = app.capture->events(2, 10);
  REQUIRE(page);
  CHECK(page->events.empty());
  REQUIRE(page->pruned_through);
  c.exec("INSERT INTO items(name) VALUES ('after')");
  const auto events = app.feed(app.capture->head() - 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].payload.as_object().at("name") == json::value("after"));
}

TEST_CASE("pg engine: a column added mid-stream is ignored, a mapped column dropped stops capture with the reason") {
  postgres_server server;
  captured_db app(server, "app");
  auto c = server.connect("app");
  c.exec("INSERT INTO items(name) VALUES ('a')");
  c.exec("ALTER TABLE items ADD COLUMN colour text");
  c.exec("INSERT INTO items(name, colour) VALUES ('b', 'red')");
  auto events = app.feed();
  REQUIRE(events.size() == 2);
  CHECK_FALSE(events[1].payload.as_object().contains("colour"));
  CHECK(app.capture->broken().empty());

  c.exec("ALTER TABLE items DROP COLUMN note");
  c.exec("INSERT INTO items(name) VALUES ('c')");
  app.wait_until_broken();
  CHECK(app.capture->broken().find("column note of items is gone from the stream") != std::string::npos);
  CHECK(app.capture->logged_head() == 2);  // the change it could not publish whole is not half-published
}

TEST_CASE("pg engine: TRUNCATE of a mapped table stops capture: it cannot be published row by row") {
  postgres_server server;
  captured_db app(server, "app");
  auto c = server.connect("app");
  c.exec("INSERT INTO prices VALUES ('EU', 'a', 1)");
  c.exec("TRUNCATE prices");
  app.wait_until_broken();
  CHECK(app.capture->broken().find("TRUNCATE of prices") != std::string::npos);
}

TEST_CASE("pg engine: check refuses a table without a key, a missing column, a binary column, and wal_level replica") {
  postgres_server server;
  server.create_database("app");
  auto c = server.connect("app");
  c.exec("CREATE TABLE events_log (at timestamptz, what text); CREATE TABLE files (id int PRIMARY KEY, data bytea)");
  temp_dir state;
  pg_capture_options o;
  o.conninfo = server.url("app");
  o.state_dir = state.path().string();
  pg_capture capture(o);
  data_map m;
  aggregate_map logs;
  logs.name = "log";
  logs.table = "events_log";
  logs.key = {"what"};
  logs.fields = {field("what"), field("colour")};
  aggregate_map files;
  files.name = "file";
  files.table = "files";
  files.key = {"id"};
  files.fields = {field("id"), field("data")};
  m.aggregates = {logs, files};
  const auto report = capture.check(m);
  std::string all;
  for (const auto& p : report.problems) all += p.message + "\n";
  CHECK(all.find("events_log has no primary key") != std::string::npos);
  CHECK(all.find("has no column colour") != std::string::npos);
  CHECK(all.find("files.data is bytea") != std::string::npos);

  postgres_server replica_level({"wal_level=replica"});
  o.conninfo = replica_level.url("postgres");
  pg_capture on_replica(o);
  data_map none;
  const auto r2 = on_replica.check(none);
  REQUIRE_FALSE(r2.problems.empty());
  CHECK(r2.problems[0].message.find("wal_level is replica") != std::string::npos);
}

TEST_CASE("pg engine: the WAL a stopped banyan-sync's slot holds is reported, and released once it reads on") {
  postgres_server server;
  captured_db app(server, "app");
  app.close();
  auto c = server.connect("app");
  // 200 rows of 32 KB that do not compress: the WAL holds about 6 MB.
  c.exec("INSERT INTO items(name, big) SELECT 'w', (SELECT string_agg(md5(random()::text || g::text || n::text), '')"
         " FROM generate_series(1, 1000) n) FROM generate_series(1, 200) g");
  temp_dir state;
  pg_capture_options o;
  o.conninfo = server.url("app");
  o.state_dir = app.state.path().string();
  pg_capture stopped(o);  // not started: reports what the server keeps for it
  const auto before = stopped.report();
  REQUIRE(before.retained_wal_bytes);
  CHECK(*before.retained_wal_bytes > 1'000'000);
  data_map m = app.map;
  REQUIRE(stopped.check(m).problems.empty());
  stopped.install(m, false);
  stopped.start();
  REQUIRE(stopped.head() == 200);
  // Confirmed once logged: the server may let the WAL go (within the 10 s feedback at most; the
  // feedback after each batch makes it sooner).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    c.exec("CHECKPOINT");
    const auto r = stopped.report();
    if (r.retained_wal_bytes && *r.retained_wal_bytes < *before.retained_wal_bytes / 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const auto after = stopped.report();
  REQUIRE(after.retained_wal_bytes);
  CHECK(*after.retained_wal_bytes < *before.retained_wal_bytes / 2);
}
