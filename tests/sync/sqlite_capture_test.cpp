// banyan-sync's SQLite engine against real database files, without sockets: the app writes on its
// own connections as an app would; capture, apply, echoes, the fence, pruning and uninstall.
#include "banyan/sync/map_sink.hpp"
#include "banyan/sync/sqlite_capture.hpp"
#include "banyan/sync/sync_engine.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <thread>

using namespace banyan;
using namespace banyan::sync;
using banyan::test::temp_dir;
namespace json = boost::json;

namespace {

aggregate_map items_map() {
  aggregate_map a;
  a.name = "item";
  a.table = "items";
  a.key = {"id"};
  a.fields = {{"id", "id", field_type::automatic, {}}, {"name", "name", field_type::automatic, {}},
              {"stock", "stock", field_type::automatic, {}}, {"tags", "tags", field_type::json, {}}};
  return a;
}

// An item's event as a feed carries it.
feed_event item_event(std::int64_t id, const std::string& op, std::string key, std::string_view payload) {
  feed_event e;
  e.id = id;
  e.type = "item." + op;
  e.aggregate = "item";
  e.key = std::move(key);
  e.payload = json::parse(payload);
  return e;
}

// An aggregate of one column, its key.
aggregate_map keyed_by(const char* name, const char* table, const char* column) {
  aggregate_map a;
  a.name = name;
  a.table = table;
  a.key = {column};
  a.fields = {{column, column, field_type::automatic, {}}};
  return a;
}

// An app's database as the app made it: WAL, an AUTOINCREMENT table, a composite-key table.
struct app_db {
  temp_dir dir;
  std::string path = dir.file("app.db");
  data_map map;
  app_db() {
    sqlite::connection c(path);
    c.exec("CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stock INTEGER, tags TEXT,"
           " secret TEXT);"
           "CREATE TABLE prices (region TEXT NOT NULL, sku INTEGER NOT NULL, cents INTEGER, PRIMARY KEY (region, sku));"
           "CREATE TABLE log_lines (line TEXT);");
    map.aggregates.push_back(items_map());
    aggregate_map p;
    p.name = "price";
    p.table = "prices";
    p.key = {"region", "sku"};
    p.fields = {{"region", "region", field_type::automatic, {}}, {"sku", "sku", field_type::automatic, {}},
                {"cents", "cents", field_type::automatic, {}}};
    map.aggregates.push_back(p);
  }
  sqlite::connection app() const { return sqlite::connection(path); }
  std::unique_ptr<sqlite_capture> installed(bool refuse = false) {
    auto cap = std::make_unique<sqlite_capture>(path, 2);
    const auto report = cap->check(map);
    INFO((report.problems.empty() ? std::string() : report.problems.front().message));
    REQUIRE(report.problems.empty());
    cap->install(map, refuse);
    cap->use_map(map);
    return cap;
  }
};

std::vector<feed_event> all_events(change_capture& cap) {
  auto page = cap.events(0, 1000);
  REQUIRE(page);
  return page->events;
}

}  // namespace

TEST_CASE("capture: every committed change in commit order, consecutive ids, rollbacks leave nothing") {
  app_db db;
  auto cap = db.installed();
  auto app = db.app();
  app.exec("INSERT INTO items(name, stock, tags, secret) VALUES ('lamp', 3, '[\"a\"]', 'not mapped')");
  app.exec("BEGIN; INSERT INTO items(name) VALUES ('never'); ROLLBACK");
  app.exec("UPDATE items SET stock = 4 WHERE id = 1");
  app.exec("UPDATE items SET secret = 'only an unmapped column'");  // not a change to the mapped data
  app.exec("UPDATE items SET id = 10 WHERE id = 1");                  // a key update: old gone, new made
  app.exec("INSERT INTO prices VALUES ('EU', 42, 100)");
  app.exec("DELETE FROM items WHERE id = 10");
  app.exec("INSERT INTO log_lines VALUES ('a table the map does not name')");
  const auto events = all_events(*cap);
  REQUIRE(events.size() == 6);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].id == static_cast<std::int64_t>(i + 1));
  CHECK(events[0].type == "item.created");
  CHECK(json::serialize(events[0].payload) == R"({"id":1,"name":"lamp","stock":3,"tags":["a"]})");
  CHECK(events[1].type == "item.updated");
  CHECK(events[1].payload.at("stock").as_int64() == 4);
  CHECK(events[2].type == "item.deleted");
  CHECK(events[2].key == "1");
  CHECK(events[3].type == "item.updated");
  CHECK(events[3].key == "10");
  CHECK(events[4].type == "price.created");
  CHECK(events[4].key == R"(["EU",42])");
  CHECK(events[5].type == "item.deleted");
  CHECK(cap->head() == 6);
  CHECK(cap->events(6, 10)->events.empty());
  CHECK(cap->events(3, 2)->events.front().id == 4);
}

TEST_CASE("capture: NULLs, unicode and a 1 MiB value travel whole") {
  app_db db;
  auto cap = db.installed();
  auto app = db.app();
  const std::string big(1 << 20, 'x');
  app.prepare("INSERT INTO items(name, stock, tags) VALUES (?, NULL, NULL)").bind(1, "Ünïcødé ☃ 𝄞").run();
  app.prepare("INSERT INTO items(name) VALUES (?)").bind(1, big).run();
  // A BLOB in a TEXT column (SQLite allows it) must not fail the app's write: it goes as hex.
  app.exec("INSERT INTO items(name, tags) VALUES (x'00ff', NULL)");
  const auto events = all_events(*cap);
  REQUIRE(events.size() == 3);
  CHECK(events[0].payload.at("name").as_string() == "Ünïcødé ☃ 𝄞");
  CHECK(events[0].payload.at("stock").is_null());
  CHECK(events[1].payload.at("name").as_string().size() == big.size());
  CHECK(events[2].payload.at("name").as_string() == "00FF");
}

TEST_CASE("capture: concurrent writers in many transactions, some rolled back: one gap-free sequence") {
  app_db db;
  auto cap = db.installed();
  { db.app().exec("PRAGMA journal_mode=WAL"); }
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      auto c = db.app();
      for (int i = 0; i < 100; ++i) {
        sqlite::transaction tx(c);
        c.prepare("INSERT INTO items(name, stock) VALUES (?, ?)").bind_all("w" + std::to_string(w), std::int64_t{i}).run();
        if (i % 4 == 3) continue;  // rolled back by the transaction's destructor
        tx.commit();
      }
    });
  for (auto& t : writers) t.join();
  const auto events = all_events(*cap);
  REQUIRE(events.size() == 300);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].id == static_cast<std::int64_t>(i + 1));
    keys.insert(events[i].key);
  }
  auto count = db.app().prepare("SELECT count(*) FROM items");
  count.step();
  CHECK(count.get_int64(0) == 300);
  CHECK(keys.size() == 300);
}

TEST_CASE("apply: a feed into another schema through the map, and nothing applied is captured again") {
  app_db source;
  auto source_cap = source.installed();
  auto app = source.app();
  app.exec("INSERT INTO items(name, stock) VALUES ('lamp', 1), ('desk', 2); UPDATE items SET stock = 9 WHERE id = 2;"
           "INSERT INTO prices VALUES ('EU', 1, 5)");
  // The other side: its own table names and columns, and its own capture installed (both directions).
  temp_dir dir;
  const auto path = dir.file("svc.db");
  {
    sqlite::connection c(path);
    c.exec("CREATE TABLE products (pid INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, qty INTEGER, labels TEXT)");
  }
  data_map svc_map;
  aggregate_map a;
  a.name = "item";
  a.table = "products";
  a.key = {"pid"};
  a.fields = {{"id", "pid", field_type::automatic, {}}, {"name", "title", field_type::automatic, {}},
              {"stock", "qty", field_type::automatic, {}}, {"tags", "labels", field_type::json, {}}};
  svc_map.aggregates.push_back(a);
  sqlite_capture svc_cap(path, 1);
  REQUIRE(svc_cap.check(svc_map).problems.empty());
  svc_cap.install(svc_map, false);
  svc_cap.use_map(svc_map);

  sqlite::connection c(path, app_database_options());
  map_sink sink(svc_map.aggregates[0]);
  sync_engine engine(c, sink, "src#item", {"banyan_sync_cursor", false});
  engine.begin_following(0);
  const auto page = source_cap->events(0, 100);
  REQUIRE(page);
  const auto r = engine.apply_page(*page);
  CHECK_FALSE(r.stopped);
  CHECK(r.applied == 3);
  CHECK(r.ignored == 1);  // the price: another aggregate
  auto st = c.prepare("SELECT pid, title, qty FROM products ORDER BY pid");
  REQUIRE(st.step());
  CHECK(st.get_text(1) == "lamp");
  REQUIRE(st.step());
  CHECK(st.get_int64(2) == 9);
  // No echo: the applied rows are not in the service's feed.
  CHECK(svc_cap.head() == 0);
  // The service's own write is, and its AUTOINCREMENT has moved past every applied id.
  c.exec("INSERT INTO products(title) VALUES ('made here')");
  CHECK(svc_cap.head() == 1);
  CHECK(svc_cap.events(0, 10)->events.front().key == "3");
  // A replayed page changes nothing; the cursor is in the same database.
  CHECK(engine.apply_page(*page).replayed == 4);
  auto cur = c.prepare("SELECT applied FROM banyan_sync_cursor WHERE source = 'src#item'");
  REQUIRE(cur.step());
  CHECK(cur.get_int64(0) == 4);
  // An event whose payload the column cannot take stops the sync, saying which.
  const auto bad = item_event(5, "updated", "1", R"({"id":1,"name":"x","stock":"many"})");
  const auto stopped = engine.apply_page({{bad}, 5, 5, std::nullopt});
  CHECK(stopped.stopped);
  CHECK(stopped.why == "event 5 (item.updated 1) cannot be applied: stock: \"many\" is not an integer");
}

// Found by the lag benchmark: a follow-only banyan-sync (publish: false) installs no capture, and
// its applier stopped at the first event on the missing marker table.
TEST_CASE("apply: a database that only follows needs no capture, only the applier's marker") {
  app_db db;
  sqlite_capture cap(db.path, 1);
  REQUIRE(cap.check(db.map).problems.empty());
  cap.prepare_apply();
  sqlite::connection c(db.path, app_database_options());
  map_sink sink(db.map.aggregates[0]);
  const auto e = item_event(1, "created", "5", R"({"id":5,"name":"followed","stock":1})");
  CHECK(sink.apply_event(c, e, sync_phase::following).what == apply_outcome::kind::applied);
  auto st = c.prepare("SELECT name FROM items WHERE id = 5");
  REQUIRE(st.step());
  CHECK(st.get_text(0) == "followed");
}

TEST_CASE("capture: a table recreated by a migration is found, and the feed does not go on as if nothing happened") {
  app_db db;
  auto cap = db.installed();
  CHECK(cap->broken().empty());
  db.app().exec(
      "BEGIN; CREATE TABLE items_new (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stock INTEGER, tags TEXT,"
      " secret TEXT); INSERT INTO items_new SELECT * FROM items; DROP TABLE items; ALTER TABLE items_new RENAME TO items;"
      " COMMIT");
  const auto why = cap->broken();
  CHECK(why.find("banyan_sync_items_insert is gone") != std::string::npos);
  // Installing again — a restart of banyan-sync — would carry on as if nothing had been missed: it
  // is refused with the way back, and only after uninstall does capture start afresh.
  CHECK_THROWS_WITH(cap->install(db.map, false), Catch::Contains("banyan_sync_items_insert is gone"));
  auto map = db.map;
  const auto report = cap->check(map);  // and check says so, at the aggregate's table
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].message.find("banyan_sync_items_insert is gone") != std::string::npos);
  CHECK_FALSE(cap->broken().empty());
  cap->uninstall();
  cap->install(db.map, false);
  CHECK(cap->broken().empty());
  db.app().exec("INSERT INTO items(name) VALUES ('after the reinstall')");
  CHECK(all_events(*cap).back().payload.at("name").as_string() == "after the reinstall");
}

TEST_CASE("fence: writes the applier did not make are counted, or refused by the database") {
  app_db db;
  auto cap = db.installed(true);
  auto app = db.app();
  app.exec("INSERT INTO items(name) VALUES ('before the move')");
  CHECK(cap->foreign().count == 0);
  cap->set_fence({true, cap->head(), "items-service", false, ""});
  app.exec("INSERT INTO items(name) VALUES ('by a cron job')");
  const auto fw = cap->foreign();
  CHECK(fw.count == 1);
  REQUIRE(fw.latest.size() == 1);
  CHECK(fw.latest[0].key == "2");
  // Refusing: the app's write fails in the database; the applier's goes through.
  cap->set_fence({true, cap->head(), "items-service", true, ""});
  CHECK_THROWS_WITH(app.exec("UPDATE items SET stock = 1 WHERE id = 1"),
                    Catch::Contains("the writes of items belong to another owner now"));
  sqlite::connection c(db.path, app_database_options());
  map_sink sink(db.map.aggregates[0]);
  const auto e = item_event(1, "updated", "1", R"({"id":1,"name":"from the new owner","stock":5})");
  CHECK(sink.apply_event(c, e, sync_phase::following).what == apply_outcome::kind::applied);
  cap->set_fence({});
  CHECK_NOTHROW(app.exec("UPDATE items SET stock = 2 WHERE id = 1"));
  CHECK(cap->foreign().count == 0);
}

TEST_CASE("prune: read rows go, the head stays readable, a follower behind them is told to copy again") {
  app_db db;
  auto cap = db.installed();
  auto app = db.app();
  for (int i = 0; i < 10; ++i) app.exec("INSERT INTO items(name) VALUES ('x')");
  CHECK(cap->prune(6, 1000) == 6);
  CHECK(cap->head() == 10);
  CHECK(cap->events(6, 10)->events.front().id == 7);
  const auto behind = cap->events(3, 10);  // a follower behind what was pruned: it must copy again
  REQUIRE(behind);
  CHECK(behind->events.empty());
  CHECK(behind->pruned_through == 6);
  CHECK(behind->head == 10);  // and the head can still be read there (after=0: the barrier's probe)
  CHECK(cap->events(0, 1)->head == 10);
  CHECK(cap->prune(0, 2) == 2);  // the bound: at most 2 kept, read or not
  CHECK(cap->events(8, 10)->events.size() == 2);
  CHECK(cap->prune(10, 1000) == 2);
  CHECK(cap->events(10, 10)->events.empty());  // all pruned, the follower is at the head: fine
  app.exec("INSERT INTO items(name) VALUES ('y')");
  CHECK(cap->events(10, 10)->events.front().id == 11);  // ids are never reused
}

TEST_CASE("check: the map against the live schema, each problem where the map says it") {
  app_db db;
  auto cap = std::make_unique<sqlite_capture>(db.path, 1);
  { db.app().exec("CREATE TABLE nokey (a TEXT); CREATE TABLE notunique (a INTEGER PRIMARY KEY, b TEXT)"); }
  data_map map;
  aggregate_map a = items_map();
  a.fields.push_back({"color", "colour", field_type::automatic, {12, 5}});
  a.fields[2].type = field_type::text;  // stock is INTEGER
  a.fields[2].at = {11, 5};
  map.aggregates.push_back(a);
  map.aggregates.push_back(keyed_by("n", "nokey", "a"));
  map.aggregates.back().table_at = {20, 3};
  map.aggregates.push_back(keyed_by("u", "notunique", "b"));
  map.aggregates.back().key_at = {30, 3};
  map.aggregates.push_back(keyed_by("m", "missing", "id"));
  const auto report = cap->check(map);
  std::vector<std::string> messages;
  for (const auto& p : report.problems) messages.push_back(std::to_string(p.at.line) + ": " + p.message);
  CHECK(messages == std::vector<std::string>{
                        "11: column items.stock is INTEGER, which cannot hold text values",
                        "12: table items has no column colour (it has id, name, stock, tags, secret)",
                        "20: table nokey has no primary key: rows without an identity cannot be followed (give it one, "
                        "or map a table that has one)",
                        "30: key (b) is neither the primary key of notunique nor a unique index on it",
                        "0: table missing does not exist in " + db.path});
  // Automatic types are resolved from the columns.
  data_map ok;
  ok.aggregates.push_back(items_map());
  REQUIRE(cap->check(ok).problems.empty());
  CHECK(ok.aggregates[0].fields[1].type == field_type::text);
  CHECK(ok.aggregates[0].fields[2].type == field_type::integer);
}

TEST_CASE("uninstall: everything banyan_sync_* goes, the app's tables and rows stay") {
  app_db db;
  auto cap = db.installed(true);
  db.app().exec("INSERT INTO items(name) VALUES ('kept')");
  const auto removed = cap->uninstall();
  CHECK(removed.size() == 6 + 6 + 4);  // 3 capture + 3 refusal triggers a table; changelog, applying, fence, captured
  auto c = db.app();
  auto st = c.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'banyan_sync%'");
  st.step();
  CHECK(st.get_int64(0) == 0);
  auto rows = c.prepare("SELECT name FROM items");
  REQUIRE(rows.step());
  CHECK(rows.get_text(0) == "kept");
  c.exec("INSERT INTO items(name) VALUES ('no trigger fires now')");
  CHECK(cap->uninstall().empty());
}
