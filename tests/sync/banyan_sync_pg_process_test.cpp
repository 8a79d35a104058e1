// banyan-sync on PostgreSQL as users run it: real processes, a PostgreSQL server of the test's own
// (initdb, a Unix socket, wal_level = logical), the apps' writes made on their own connections.
// Copy and follow through kill -9s of either banyan-sync and restarts of PostgreSQL (fast and
// immediate); the guide's apps on PostgreSQL with their writes moved through banyan-proxy, between
// two PostgreSQL databases and between PostgreSQL and SQLite.
#include "support/postgres_server.hpp"
#include "sync/sync_processes.hpp"

#include <algorithm>
#include <iterator>

using namespace banyan;
using namespace banyan::test;
namespace json = boost::json;

namespace {

const char* const items_table =
    "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, stock int NOT NULL DEFAULT 0, note text)";
const char* const products_table =
    "CREATE TABLE products (pid bigserial PRIMARY KEY, title text NOT NULL, qty int NOT NULL, note text)";

std::string source_yaml(const temp_dir& dir, const postgres_server& pg, const std::string& listen = "127.0.0.1:0") {
  return "listen: " + listen + "\ndatabase: " + pg.url("app") + "\nstate_dir: " + dir.file("app-state") +
         "\npublish: true\npage_limit: 100\n"
         "aggregates:\n  item:\n    table: items\n    key: id\n    fields: {id: id, name: name, stock: stock, note: note}\n";
}
std::string follower_yaml(const temp_dir& dir, const postgres_server& pg, const std::string& follow) {
  return "listen: 127.0.0.1:0\ndatabase: " + pg.url("svc") + "\nstate_dir: " + dir.file("svc-state") +
         "\npublish: true\nslot: svc_feed\npage_limit: 100\nfollow: " + follow +
         "\naggregates:\n  item:\n    table: products\n    key: pid\n    fields: {id: pid, name: title, stock: qty, note: note}\n";
}

std::vector<std::string> rows(pg::connection& c, const char* sql) {
  auto r = c.exec(sql);
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(std::string(r.text(i, 0)));
  return out;
}

}  // namespace

TEST_CASE("banyan-sync on PostgreSQL: copy and follow under app writes, through kill -9s of both and PostgreSQL "
          "restarts",
          "[sync][process][slow]") {
  temp_dir dir;
  postgres_server pg;
  pg.create_database("app");
  pg.create_database("svc");
  {
    auto c = pg.connect("app");
    c.exec(items_table);
    // 8,000 rows (80 pages), eight with a 1 MiB note (TOASTed), unicode in every name.
    c.exec("INSERT INTO items(name, stock, note) SELECT 'ítem ' || g || ' ✓', g, CASE WHEN g % 1000 = 0 THEN"
           " repeat('n', 1048576) END FROM generate_series(1, 8000) g");
    pg.connect("svc").exec(products_table);
  }
  auto source = std::make_unique<sync_process>(dir, "app-sync", source_yaml(dir, pg));
  const auto source_port = source->port;
  std::atomic<bool> writing{true};
  std::atomic<int> committed{0};
  std::vector<std::thread> writers;
  struct stop_writers {  // also when a REQUIRE fails: a joinable thread would abort the run
    std::atomic<bool>& writing;
    std::vector<std::thread>& threads;
    ~stop_writers() {
      writing = false;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } stop_on_exit{writing, writers};
  for (int w = 0; w < 3; ++w)
    writers.emplace_back([&, w] {
      std::unique_ptr<pg::connection> c;
      for (int i = 0; writing; ++i) {
        try {
          if (!c) c = std::make_unique<pg::connection>(pg.url("app"));
          c->exec("BEGIN");
          c->exec("INSERT INTO items(name, stock) VALUES ($1, $2)", {"w" + std::to_string(w) + "-" + std::to_string(i), std::to_string(i)});
          c->exec("UPDATE items SET stock = stock + 1 WHERE id = $1", {std::to_string(1 + (i * 7 + w) % 50)});
          // Now and then a 1 MiB value (TOASTed) on a row of its own: every later change of a row
          // publishes its whole state, so a large value on a hot row would be a megabyte a write.
          if (i % 100 == 0)
            c->exec("UPDATE items SET note = repeat(md5($1), 32768), stock = stock + 1 WHERE id = $2",
                    {std::to_string(i), std::to_string(5000 + w)});
          if (i % 9 == 4) c->exec("DELETE FROM items WHERE id = $1", {std::to_string(100 + i + w * 1000)});
          if (i % 11 == 5) c->exec("UPDATE items SET id = id + 1000000 WHERE id = $1", {std::to_string(3000 + i + w * 2000)});
          c->exec(i % 5 == 2 ? "ROLLBACK" : "COMMIT");
          if (i % 5 != 2) ++committed;
        } catch (const std::exception&) {
          c.reset();  // PostgreSQL restarting: the app reconnects
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        // ~100 transactions a second from the three: a load the sanitizers' build follows too (at 2 ms
        // a writer, the instrumented follower had not caught up after 2 minutes beside the other tests).
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  auto follower = std::make_unique<sync_process>(dir, "svc-sync", follower_yaml(dir, pg, source->url()));
  // Killed mid-copy (100 rows a page: 200 pages), then mid-stream: nothing lost, nothing twice.
  json::object seen;
  REQUIRE(eventually(
      [&] {
        seen = follower->sync();
        if (seen.at("backfill").at("rows_done").as_int64() <= 300) return false;
        follower->proc->signal(SIGKILL);
        return true;
      },
      std::chrono::seconds(30)));
  CHECK(seen.at("state").as_string() == "backfilling");
  follower->proc->wait(std::chrono::seconds(5));
  follower = std::make_unique<sync_process>(dir, "svc-sync", follower_yaml(dir, pg, source->url()));
  REQUIRE(eventually([&] { return follower->sync().at("state").as_string() == "following"; }, std::chrono::seconds(120)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  follower->proc->signal(SIGKILL);
  follower->proc->wait(std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // writes go on while it is down
  follower = std::make_unique<sync_process>(dir, "svc-sync", follower_yaml(dir, pg, source->url()));
  // The publisher killed -9 mid-stream (decoded, logged, maybe not confirmed), started again on
  // its address: the slot sends again from the confirmed position; nothing is logged twice.
  source->proc->signal(SIGKILL);
  source->proc->wait(std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  source = std::make_unique<sync_process>(dir, "app-sync", source_yaml(dir, pg, "127.0.0.1:" + std::to_string(source_port)));
  // A fast shutdown waits for every walsender to deliver its WAL: with the restarted publisher still
  // decoding a backlog (a slow machine, the sanitizers) pg_ctl would time out. Caught up first.
  REQUIRE(eventually(
      [&] { return http_call(source->port, "GET", "/internal/events?after=0&limit=1&committed=1").status == 200; },
      std::chrono::seconds(90)));
  pg.restart("fast");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  pg.restart("immediate");  // as a crash of PostgreSQL: recovery replays its WAL
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  writing = false;
  for (auto& t : writers) t.join();
  CHECK(committed > 100);

  REQUIRE(eventually(
      [&] {
        const auto r = http_call(follower->port, "GET", "/internal/sync");
        if (r.status != 200) return false;
        const auto s = json::parse(r.body).as_object();
        const auto head = http_call(source->port, "GET", "/internal/events?after=0&limit=1&committed=1");
        return head.status == 200 && s.at("state").as_string() == "following" &&
               s.at("applied").as_int64() >= json::parse(head.body).at("head").as_int64();
      },
      std::chrono::seconds(120)));
  auto app = pg.connect("app");
  auto svc = pg.connect("svc");
  const auto want = rows(app, "SELECT id || ':' || name || ':' || stock || ':' || md5(coalesce(note, '')) FROM items ORDER BY id");
  CHECK(want.size() > 8000);
  const auto got = rows(svc, "SELECT pid || ':' || title || ':' || qty || ':' || md5(coalesce(note, '')) FROM products ORDER BY pid");
  std::vector<std::string> only_app, only_svc, a = want, b = got;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_app));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_svc));
  auto first = [](const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 5; ++i) s += v[i] + "\n";
    return s;
  };
  INFO("only in the app (first 5):\n" << first(only_app) << "only in the service (first 5):\n" << first(only_svc));
  CHECK(only_app.size() + only_svc.size() == 0);
  // Nothing applied was published back by the service (its own feed is empty), and its sequence
  // moved past every applied id.
  CHECK(follower->head() == 0);
  CHECK(svc.exec("SELECT nextval('products_pid_seq') > (SELECT max(pid) FROM products)").text(0, 0) == "t");
  // The changelog has every change once, in order: consecutive ids from 1.
  const auto feed = json::parse(http_call(source->port, "GET", "/internal/events?after=0&limit=1000").body).as_object();
  std::int64_t expect = 1;
  for (const auto& e : feed.at("events").as_array()) CHECK(e.at("id").as_int64() == expect++);
  const auto capture = json::parse(http_call(source->port, "GET", "/internal/capture").body).as_object();
  CHECK(capture.at("engine").as_string() == "postgresql");
  CHECK(capture.at("intact").as_bool());
  CHECK(capture.contains("retained_wal_bytes"));
}

TEST_CASE("banyan-sync on PostgreSQL under banyan-proxy: the guide's app moves its writes between two PostgreSQL "
          "databases, back and forward, losing nothing",
          "[sync][process][slow]") {
  temp_dir dir;
  postgres_server pg;
  pg.create_database("app");
  pg.create_database("svc");
  const int acknowledged = writes_move_under_proxy(dir, {pg.url("app"), pg.url("app")}, {pg.url("svc"), pg.url("svc")});
  CHECK(acknowledged >= 60 + 3 * 150);  // every step's writes
}

TEST_CASE("banyan-sync under banyan-proxy: the guide's app on PostgreSQL moves its writes to a service on SQLite and "
          "back, losing nothing",
          "[sync][process][slow]") {
  temp_dir dir;
  postgres_server pg;
  pg.create_database("app");
  const int acknowledged =
      writes_move_under_proxy(dir, {pg.url("app"), pg.url("app")}, {"svc.db", "sqlite:" + dir.file("svc.db")});
  CHECK(acknowledged >= 60 + 3 * 150);  // every step's writes
}

TEST_CASE("banyan-sync check on PostgreSQL: a table without a key is refused at its place, exit 2", "[sync][process]") {
  temp_dir dir;
  postgres_server pg;
  pg.create_database("app");
  pg.connect("app").exec("CREATE TABLE audit (at timestamptz, what text)");
  std::ofstream(dir.file("sync.yaml")) << "database: " + pg.url("app") + "\nstate_dir: " + dir.file("state") +
                                              "\npublish: true\naggregates:\n  entry:\n    table: audit\n    key: what\n"
                                              "    fields: {what: what}\n";
  const auto r = run_program({binary("banyan-sync"), "check", "--config", dir.file("sync.yaml")}, dir);
  CHECK(r.code == 2);
  CHECK(r.err.find(dir.file("sync.yaml") + ":6:12: error: table audit has no primary key") != std::string::npos);
  std::ofstream(dir.file("bad.yaml")) << "database: postgresql://nobody@/nothing?host=" + dir.file("no-socket") +
                                             "\nstate_dir: s\npublish: true\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n";
  const auto bad = run_program({binary("banyan-sync"), "check", "--config", dir.file("bad.yaml")}, dir);
  CHECK(bad.code == 2);
  CHECK(bad.err.find(dir.file("bad.yaml") + ":1:11: error: cannot connect to PostgreSQL") != std::string::npos);
}
