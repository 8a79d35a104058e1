// banyan-sync as users run it: real processes on two SQLite databases with different schemas, the
// apps' writes made on their own connections (as a Django or Rails app's would be), no code of ours
// in either. Backfill, follow, kill -9 mid-copy and mid-stream, a column added and a table recreated
// under it, echoes, foreign writes, check and uninstall.
#include "banyan/platform/sqlite.hpp"
#include "support/http_client.hpp"
#include "sync/sync_processes.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

using namespace banyan;
using namespace banyan::test;
namespace json = boost::json;

namespace {

// The "monolith": items(id, name, stock). The "service": products(pid, title, qty), its own names.
void make_app_db(const std::string& path, int rows) {
  sqlite::open_options as_the_app_made_it;
  as_the_app_made_it.wal = false;
  sqlite::connection c(path, as_the_app_made_it);
  c.exec("CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stock INTEGER NOT NULL DEFAULT 0)");
  sqlite::transaction tx(c);
  for (int i = 1; i <= rows; ++i)
    c.prepare("INSERT INTO items(name, stock) VALUES (?, ?)").bind_all("item " + std::to_string(i), std::int64_t{i}).run();
  tx.commit();
}
void make_service_db(const std::string& path) {
  sqlite::connection c(path);
  c.exec("CREATE TABLE products (pid INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, qty INTEGER NOT NULL)");
}

std::string app_config(const temp_dir& dir, const std::string& db, const std::string& state, const std::string& follow = "") {
  return "listen: 127.0.0.1:0\ndatabase: sqlite:" + dir.file(db) + "\nstate_dir: " + dir.file(state) +
         "\npublish: true\npage_limit: 50\n" + (follow.empty() ? "" : "follow: " + follow + "\n") +
         "aggregates:\n  item:\n    table: items\n    key: id\n    fields: {id: id, name: name, stock: stock}\n";
}
std::string service_config(const temp_dir& dir, const std::string& follow) {
  return "listen: 127.0.0.1:0\ndatabase: sqlite:" + dir.file("svc.db") + "\nstate_dir: " + dir.file("svc-state") +
         "\npublish: true\npage_limit: 50\nfollow: " + follow +
         "\naggregates:\n  item:\n    table: products\n    key: pid\n    fields: {id: pid, name: title, stock: qty}\n";
}

// name → stock, from either schema.
std::map<std::string, std::int64_t> rows_of(const std::string& path, const char* sql) {
  // As the app opened it: switching its journal mode to WAL from a reader raced banyan-sync's own
  // connections ("database is locked", seen in CI under the sanitizers and then locally).
  sqlite::open_options as_the_app_left_it;
  as_the_app_left_it.wal = false;
  sqlite::connection c(path, as_the_app_left_it);
  std::map<std::string, std::int64_t> out;
  auto st = c.prepare(sql);
  while (st.step()) out[std::to_string(st.get_int64(0)) + ":" + st.get_text(1)] = st.get_int64(2);
  return out;
}
const char* const items_sql = "SELECT id, name, stock FROM items";
const char* const products_sql = "SELECT pid, title, qty FROM products";

// App writers on their own connections: inserts, updates, deletes, one transaction in five rolled back.
struct app_writers {
  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  app_writers(const std::string& db, int count) {
    for (int w = 0; w < count; ++w)
      threads.emplace_back([this, db, w] {
        sqlite::connection c(db);
        for (int i = 0; !stop; ++i) {
          try {
            sqlite::transaction tx(c);
            c.prepare("INSERT INTO items(name, stock) VALUES (?, ?)").bind_all("w" + std::to_string(w) + "-" + std::to_string(i), std::int64_t{i}).run();
            c.prepare("UPDATE items SET stock = stock + 1 WHERE id = ?").bind(1, std::int64_t{1 + (i * 7 + w) % 50}).run();
            if (i % 9 == 4) c.prepare("DELETE FROM items WHERE id = ?").bind(1, std::int64_t{60 + i + w * 1000}).run();
            if (i % 5 == 2) continue;  // rolled back
            tx.commit();
            ++committed;
          } catch (const sqlite::error&) {  // busy past the timeout on a loaded machine: the app retries
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
  ~app_writers() {
    if (!stop) finish();
  }
};

}  // namespace

TEST_CASE("banyan-sync check: the map against the live schema, exit 0 or 2 with FILE:LINE:COL", "[sync][process]") {
  temp_dir dir;
  make_app_db(dir.file("app.db"), 3);
  std::ofstream(dir.file("ok.yaml")) << app_config(dir, "app.db", "state");
  auto ok = run_program({binary("banyan-sync"), "check", "--config", dir.file("ok.yaml")}, dir);
  INFO(ok.out << ok.err);
  CHECK(ok.code == 0);
  CHECK(ok.out.find("item ← items (key id): id=id:integer name=name:text stock=stock:integer") != std::string::npos);
  CHECK(ok.out.find("would install:\n  triggers banyan_sync_items_insert, _update, _delete on items") != std::string::npos);
  CHECK(ok.out.find("note: the database's journal mode is delete") != std::string::npos);
  // check installs nothing.
  {
    sqlite::connection c(dir.file("app.db"));
    auto st = c.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'banyan_sync%'");
    st.step();
    CHECK(st.get_int64(0) == 0);
  }
  std::ofstream(dir.file("bad.yaml")) << "listen: 127.0.0.1:0\ndatabase: sqlite:" + dir.file("app.db") +
                                             "\nstate_dir: " + dir.file("s") +
                                             "\npublish: true\naggregates:\n  item:\n    table: items\n    key: id\n"
                                             "    fields: {id: id, name: title}\n";
  auto bad = run_program({binary("banyan-sync"), "check", "--config", dir.file("bad.yaml")}, dir);
  CHECK(bad.code == 2);
  CHECK(bad.err == dir.file("bad.yaml") + ":9:22: error: table items has no column title (it has id, name, stock)\n");
  // The same refusal when run: it never starts on a map the schema cannot honour.
  auto run = run_program({binary("banyan-sync"), "--config", dir.file("bad.yaml")}, dir);
  CHECK(run.code == 2);
  CHECK(run.err.find(":9:22: error: table items has no column title") != std::string::npos);
  std::ofstream(dir.file("nodb.yaml")) << "database: sqlite:" + dir.file("none.db") +
                                              "\nstate_dir: s\npublish: true\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n";
  auto nodb = run_program({binary("banyan-sync"), "check", "--config", dir.file("nodb.yaml")}, dir);
  CHECK(nodb.code == 2);
  CHECK(nodb.err == dir.file("nodb.yaml") + ":1:11: error: no database at " + dir.file("none.db") +
                        " (banyan-sync attaches to an existing one)\n");
  CHECK(run_program({binary("banyan-sync"), "check"}, dir).code == 2);
}

TEST_CASE("banyan-sync: copy and follow into another schema under concurrent app writes, through kill -9s of both",
          "[sync][process][slow]") {
  temp_dir dir;
  make_app_db(dir.file("app.db"), 20000);
  { sqlite::connection(dir.file("app.db")).exec("PRAGMA journal_mode=WAL"); }
  make_service_db(dir.file("svc.db"));
  auto source = std::make_unique<sync_process>(dir, "app-sync", app_config(dir, "app.db", "app-state"));
  const auto source_url = source->url();
  app_writers writers(dir.file("app.db"), 3);
  auto follower = std::make_unique<sync_process>(dir, "svc-sync", service_config(dir, source_url));
  // Killed mid-copy (50 rows a page: 60 pages), then mid-stream: nothing lost, nothing twice.
  json::object seen;
  REQUIRE(eventually(
      [&] {
        seen = follower->sync();
        if (seen.at("backfill").at("rows_done").as_int64() <= 200) return false;
        follower->proc->signal(SIGKILL);
        return true;
      },
      std::chrono::seconds(20)));
  CHECK(seen.at("state").as_string() == "backfilling");
  follower->proc->wait(std::chrono::seconds(5));
  follower = std::make_unique<sync_process>(dir, "svc-sync", service_config(dir, source_url));
  REQUIRE(eventually([&] { return follower->sync().at("state").as_string() == "following"; }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  follower->proc->signal(SIGKILL);
  follower->proc->wait(std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // writes go on while it is down
  follower = std::make_unique<sync_process>(dir, "svc-sync", service_config(dir, source_url));
  // A column added to the source mid-stream: capture goes on; the map does not name it.
  { sqlite::connection(dir.file("app.db")).exec("ALTER TABLE items ADD COLUMN colour TEXT"); }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The publisher killed -9 mid-stream, started again on its address: capture never stopped (it is
  // in the app's transactions), and the follower waits and resumes.
  const auto source_port = source->port;
  source->proc->signal(SIGKILL);
  source->proc->wait(std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto again = app_config(dir, "app.db", "app-state");
  again.replace(again.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(source_port));
  source = std::make_unique<sync_process>(dir, "app-sync", again);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  writers.finish();
  CHECK(writers.committed > 100);
  REQUIRE(eventually([&] { return caught_up(*follower, *source); }, std::chrono::seconds(30)));
  const auto want = rows_of(dir.file("app.db"), items_sql);
  CHECK(want.size() > 20000);
  CHECK(rows_of(dir.file("svc.db"), products_sql) == want);
  // Nothing applied was published back by the service: its feed has only its own writes (none).
  CHECK(follower->head() == 0);
  const auto metrics = http_call(follower->port, "GET", "/metrics").body;
  CHECK(metrics.find("banyan_sync_following{") != std::string::npos);
}

TEST_CASE("banyan-sync: both directions, no echo, foreign writes behind the fence, a recreated table stops the feed",
          "[sync][process]") {
  temp_dir dir;
  make_app_db(dir.file("app.db"), 10);
  make_service_db(dir.file("svc.db"));
  sync_process app_side(dir, "app-sync", app_config(dir, "app.db", "app-state"));
  sync_process svc_side(dir, "svc-sync", service_config(dir, app_side.url()));
  REQUIRE(eventually([&] { return caught_up(svc_side, app_side); }, std::chrono::seconds(20)));
  // The monolith's side follows the service back (as once the service owns the writes).
  const auto back_yaml = app_config(dir, "app.db", "app-state2", svc_side.url());
  std::unique_ptr<sync_process> back;
  app_side.proc->signal(SIGTERM);
  REQUIRE(app_side.proc->wait(std::chrono::seconds(10)) == 0);
  back = std::make_unique<sync_process>(dir, "app-sync2", back_yaml);
  REQUIRE(eventually([&] { return caught_up(*back, svc_side); }, std::chrono::seconds(20)));
  // (svc_side's source moved to a new port: it follows a feed that is gone; the test writes on the
  // service now, as once it owns the writes.)
  {
    sqlite::connection svc(dir.file("svc.db"));
    svc.exec("INSERT INTO products(title, qty) VALUES ('made in the service', 5); UPDATE products SET qty = 99 WHERE pid = 1");
  }
  // 30 s: under the sanitizers beside the PostgreSQL process tests, 10 s was once not enough (CI).
  REQUIRE(eventually([&] { return rows_of(dir.file("app.db"), items_sql) == rows_of(dir.file("svc.db"), products_sql); },
                     std::chrono::seconds(30)));
  // No echo: the monolith applied them, and publishes nothing new.
  const auto head_before = back->head();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(back->head() == head_before);
  // The fence: the proxy raises it on the old owner at a cut-over; a cron job's write is foreign.
  REQUIRE(http_json(back->port, "PUT", "/internal/fence", R"({"since":)" + std::to_string(head_before) + R"(,"owner":"items"})")
              .status == 200);
  { sqlite::connection(dir.file("app.db")).exec("UPDATE items SET stock = -1 WHERE id = 2"); }
  REQUIRE(eventually([&] { return back->sync().at("foreign_writes").as_int64() == 1; }));
  const auto fence = json::parse(http_call(back->port, "GET", "/internal/fence").body);
  CHECK(fence.at("latest").at(0).at("key").as_string() == "2");
  REQUIRE(eventually([&] {
    return http_call(back->port, "GET", "/metrics").body.find("banyan_sync_foreign_writes 1") != std::string::npos;
  }));
  CHECK(http_call(back->port, "DELETE", "/internal/fence").status == 200);
  CHECK(back->sync().at("foreign_writes").as_int64() == 0);
  CHECK(http_json(back->port, "PUT", "/internal/fence", R"({"owner":"items"})").status == 422);
  // A migration recreates the table: its triggers are gone, and the feed says so rather than go on.
  {
    sqlite::connection c(dir.file("app.db"));
    c.exec("BEGIN; CREATE TABLE items2 (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stock INTEGER NOT NULL DEFAULT 0);"
           "INSERT INTO items2 SELECT * FROM items; DROP TABLE items; ALTER TABLE items2 RENAME TO items; COMMIT");
  }
  const auto events = http_call(back->port, "GET", "/internal/events?after=0");
  CHECK(events.status == 503);
  CHECK(events.body.find("banyan_sync_items_insert is gone") != std::string::npos);
  CHECK(http_call(back->port, "GET", "/readyz").status == 503);
  // Restarted, it does not carry on as if nothing had been missed: it refuses to start, saying why.
  back->proc->signal(SIGTERM);
  REQUIRE(back->proc->wait(std::chrono::seconds(10)) == 0);
  auto restart = run_program({binary("banyan-sync"), "--config", back->config}, dir);
  CHECK(restart.code == 2);  // the schema check refuses it, at the aggregate's table in the file
  CHECK(restart.err.find(back->config + ":") == 0);
  CHECK(restart.err.find("banyan_sync_items_insert is gone") != std::string::npos);
  CHECK(restart.err.find("banyan-sync uninstall") != std::string::npos);
  // uninstall removes everything it put there.
  auto u = run_program({binary("banyan-sync"), "uninstall", "--config", back->config}, dir);
  CHECK(u.code == 0);
  CHECK(u.out.find("removed table banyan_sync_changelog") != std::string::npos);
  CHECK(u.out.find("removed table banyan_sync_cursor") != std::string::npos);
  sqlite::connection c(dir.file("app.db"));
  auto st = c.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'banyan_sync%'");
  st.step();
  CHECK(st.get_int64(0) == 0);
}

TEST_CASE("banyan-sync under banyan-proxy: the writes of an app with no feed move, back and forward, losing nothing",
          "[sync][process][slow]") {
  temp_dir dir;
  const int acknowledged =
      writes_move_under_proxy(dir, {"app.db", "sqlite:" + dir.file("app.db")}, {"svc.db", "sqlite:" + dir.file("svc.db")});
  CHECK(acknowledged >= 60 + 3 * 150);  // every step's writes
}

// A cut-over that gives up leaves the writes with the old owner: the fence it raised there goes
// down again (with `foreign_writes: refuse` the app's own writes through the proxy were refused).
TEST_CASE("banyan-sync under banyan-proxy: a cut-over that gives up puts the fences back — the old owner keeps its writes",
          "[sync][process]") {
  temp_dir dir;
  guide_pair pair(dir, {"app.db", "sqlite:" + dir.file("app.db")}, {"svc.db", "sqlite:" + dir.file("svc.db")}, true);
  proxy_process proxy(dir, pair.app.url(), "access_log: off\nhealth_checks: {path: \"\"}\n" + pair.proxy_yaml("1s"));
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", pair.routes()).status == 200);
  REQUIRE(http_json(proxy.port, "POST", "/api/items", R"({"name":"before","stock":1})").status == 201);
  // The service's sync hangs: it cannot say it caught up, the barrier gives up at its hold limit.
  pair.svc_side->proc->signal(SIGSTOP);
  const auto gave_up = proxy.admin("POST", "/api/v1/routes/mode", R"({"routes":["item-create","item-change"],"mode":"service"})");
  CHECK(gave_up.status == 409);
  pair.svc_side->proc->signal(SIGCONT);
  const auto fence = json::parse(http_call(pair.app_side->port, "GET", "/internal/fence").body);
  CHECK(fence.at("up") == false);
  const auto kept = http_json(proxy.port, "POST", "/api/items", R"({"name":"after","stock":2})");
  INFO(kept.body);
  CHECK(kept.status == 201);  // the monolith still takes its writes: not refused as foreign
  CHECK(pair.app_side->sync().at("foreign_writes").as_int64() == 0);
  // Once the service's sync answers, the writes move, and the fences with them.
  REQUIRE(eventually([&] { return caught_up(*pair.svc_side, *pair.app_side); }, std::chrono::seconds(20)));
  const auto moved = proxy.admin("POST", "/api/v1/routes/mode", R"({"routes":["item-create","item-change"],"mode":"service"})");
  INFO(moved.body);
  REQUIRE(moved.status == 200);
  CHECK(json::parse(http_call(pair.app_side->port, "GET", "/internal/fence").body).at("up") == true);
  CHECK(json::parse(http_call(pair.svc_side->port, "GET", "/internal/fence").body).at("up") == false);
  CHECK(http_json(proxy.port, "POST", "/api/items", R"({"name":"moved","stock":3})").status == 201);
}

// A fleet's instances release their held writes when they see the switch; the coordinator moved
// the foreign-write fences after it, so a write could reach the new owner while its fence was up
// — refused there with `foreign_writes: refuse`. The fences now move before the switch.
TEST_CASE("banyan-sync under a fleet of three proxies: the writes move back and forward, none refused as foreign",
          "[sync][process][slow]") {
  temp_dir dir;
  const int acknowledged = writes_move_under_proxy(dir, {"app.db", "sqlite:" + dir.file("app.db")},
                                                   {"svc.db", "sqlite:" + dir.file("svc.db")},
                                                   {.fleet = 3, .refuse_foreign_writes = true});
  CHECK(acknowledged >= 60 + 3 * 150);
}

// Found by the lag benchmark: two followers of one publisher (the same aggregate, two databases)
// were one reader to its pruning, which removed what the slower had not read yet; and the follower
// then retried the 410 forever instead of saying what to do.
TEST_CASE("banyan-sync pruning: each follower's position is kept apart, and one pruned past stops and says why",
          "[sync][process]") {
  temp_dir dir;
  make_app_db(dir.file("app.db"), 0);
  make_service_db(dir.file("svc.db"));
  make_app_db(dir.file("other.db"), 0);
  sync_process source(dir, "app-sync",
                      app_config(dir, "app.db", "app-state") + "prune_interval: 1s\nretain_events: 1000\n");
  sync_process fast(dir, "svc-sync", service_config(dir, source.url()));
  auto slow = std::make_unique<sync_process>(dir, "other-sync",
                                             app_config(dir, "other.db", "other-state", source.url()) + "follow_wait: 0s\n");
  auto write = [&](int rows) {
    sqlite::connection c(dir.file("app.db"));
    for (int i = 0; i < rows; ++i) c.prepare("INSERT INTO items(name, stock) VALUES ('x', ?)").bind(1, std::int64_t{i}).run();
  };
  write(900);  // under the bound (1000 kept): only what both have read may go
  REQUIRE(eventually([&] { return caught_up(fast, source) && caught_up(*slow, source); }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two prunes
  write(10);
  REQUIRE(eventually([&] { return caught_up(fast, source) && caught_up(*slow, source); }, std::chrono::seconds(20)));
  CHECK(slow->sync().at("state").as_string() == "following");
  // The slow one goes away; past the bound (1000 kept) its events go whether it read them or not.
  slow->proc->signal(SIGKILL);
  slow->proc->wait(std::chrono::seconds(5));
  write(2500);
  REQUIRE(eventually([&] {
    return json::parse(http_call(source.port, "GET", "/internal/events?after=910&limit=1").body)
        .as_object()
        .contains("pruned_through");
  }, std::chrono::seconds(10)));
  CHECK(source.head() == 3410);  // the head is still read at position 0, as the barrier does
  slow = std::make_unique<sync_process>(dir, "other-sync",
                                        app_config(dir, "other.db", "other-state", source.url()) + "follow_wait: 0s\n");
  REQUIRE(eventually([&] { return slow->sync().at("state").as_string() == "stopped"; }));
  const auto why = std::string(slow->sync().at("why").as_string());
  CHECK(why.find("the source no longer has the events after 910 (it pruned through ") == 0);
  CHECK(why.find("copy again") != std::string::npos);
  CHECK(caught_up(fast, source));
}

// A publisher uninstalled and started again begins its changelog at 1: a follower further along
// waited silently for ids that would name other changes. It stops and says to copy again.
TEST_CASE("banyan-sync: a follower ahead of a publisher whose changelog started over stops and says why",
          "[sync][process]") {
  temp_dir dir;
  make_app_db(dir.file("app.db"), 0);
  make_service_db(dir.file("svc.db"));
  auto source = std::make_unique<sync_process>(dir, "app-sync", app_config(dir, "app.db", "app-state"));
  const auto port = source->port;
  sync_process follower(dir, "svc-sync", service_config(dir, source->url()));
  {
    sqlite::connection c(dir.file("app.db"));
    for (int i = 0; i < 5; ++i) c.prepare("INSERT INTO items(name, stock) VALUES ('x', ?)").bind(1, std::int64_t{i}).run();
  }
  REQUIRE(eventually([&] { return caught_up(follower, *source); }, std::chrono::seconds(20)));
  source->proc->signal(SIGTERM);
  REQUIRE(source->proc->wait(std::chrono::seconds(10)) == 0);
  const auto config = dir.file("app-sync.yaml");
  REQUIRE(run_program({binary("banyan-sync"), "uninstall", "--config", config}, dir).code == 0);
  auto again = app_config(dir, "app.db", "app-state");
  again.replace(again.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(port));
  source = std::make_unique<sync_process>(dir, "app-sync", again);
  REQUIRE(eventually([&] { return follower.sync().at("state").as_string() == "stopped"; }, std::chrono::seconds(20)));
  const auto why = std::string(follower.sync().at("why").as_string());
  CHECK(why.find("the source's feed starts over: its head is 0, below the position applied here (5)") == 0);
  CHECK(why.find("copy again") != std::string::npos);
}
