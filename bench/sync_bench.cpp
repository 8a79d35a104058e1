// banyan-sync's costs, each against a reference measured in the same run (docs/performance.md):
//
//   sync_bench capture [--rows N]
//     the capture triggers' cost on the app's own writes (single-row transactions with and without
//     them, WAL, synchronous=NORMAL), and reading the captured changes as feed pages against a plain
//     SELECT of the same changed rows;
//   sync_bench lag BIN_DIR [--rate N] [--seconds S]
//     write-to-visible lag: an app writing at a steady rate into its database, banyan-sync
//     publishing it, and two banyan-sync followers applying it into two other databases — one that
//     waits at the source for the next event (follow_wait: 1s), one that polls every 100 ms
//     (follow_wait: 0s) — in the same run. A row is visible when the follower's database has it.
//   sync_bench copy BIN_DIR [--rows N]
//     a backfill of N rows by a banyan-sync follower from a banyan-sync publisher, against
//     `sqlite3 app.db .dump | sqlite3 copy.db` of the same table;
//   sync_bench cutover BIN_DIR SOURCE_DIR [--rate N] [--moves M] [--postgres] [--fleet N]
//     the write cut-over barrier's hold with banyan-sync on both sides: the guide's two Python apps
//     (docs/examples), banyan-sync on each following the other, banyan-proxy in front; a writer
//     changing items through the proxy at a steady rate while the writes move M times (there and
//     back); each barrier's hold, and the write latency while steady and in the second after a move.
//     --postgres: both apps on PostgreSQL (a server of the run's own).
//   sync_bench pg BIN_DIR [--rows N] [--rate R] [--seconds S]
//     banyan-sync on PostgreSQL (sync_bench_pg.cpp): capture rows/s against pg_recvlogical decoding
//     the same WAL, write-to-visible lag at a steady rate, and apply rows/s.
//
// Only loopback ports the kernel picks, temporary files, bounded in time.
#include "banyan/platform/child_process.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/sqlite_capture.hpp"
#include "sync_bench.hpp"
#include "support/etcd_cluster.hpp"
#include "support/postgres_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace banyan;
using namespace banyan::bench;

namespace {

void make_items(const std::string& path) {
  sqlite::connection c(path);  // WAL, synchronous=NORMAL: as a tuned app would run
  c.exec("CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stock INTEGER NOT NULL,"
         " price_cents INTEGER NOT NULL)");
}

sync::data_map items_map(const char* table = "items") {
  sync::aggregate_map a;
  a.name = "item";
  a.table = table;
  a.key = {"id"};
  a.fields = {{"id", "id", sync::field_type::automatic, {}},
              {"name", "name", sync::field_type::automatic, {}},
              {"stock", "stock", sync::field_type::automatic, {}},
              {"price_cents", "price_cents", sync::field_type::automatic, {}}};
  sync::data_map m;
  m.aggregates.push_back(a);
  return m;
}

// Per-write latency (µs) of `rows` single-row transactions: an insert, then an update of it.
std::vector<double> app_writes(const std::string& path, int rows) {
  sqlite::connection c(path);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rows) * 2);
  for (int i = 0; i < rows; ++i) {
    auto t0 = clock_type::now();
    c.prepare_cached("INSERT INTO items(name, stock, price_cents) VALUES (?, ?, ?)")
        ->bind_all("item", std::int64_t{i}, std::int64_t{100 + i})
        .run();
    const auto id = c.last_insert_rowid();
    auto t1 = clock_type::now();
    c.prepare_cached("UPDATE items SET stock = stock + 1 WHERE id = ?")->bind(1, id).run();
    auto t2 = clock_type::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  return us;
}

int capture(int rows) {
  const auto dir = temp_dir();
  const auto plain = dir + "/plain.db", captured = dir + "/captured.db";
  make_items(plain);
  make_items(captured);
  auto map = items_map();
  {
    sync::sqlite_capture cap(captured, 1);
    if (!cap.check(map).problems.empty()) return 1;
    cap.install(map, false);
  }
  // Interleaved rounds, so that the machine's noise falls on both alike.
  std::vector<double> without, with;
  for (int round = 0; round < 4; ++round) {
    auto a = app_writes(plain, rows / 4);
    auto b = app_writes(captured, rows / 4);
    without.insert(without.end(), a.begin(), a.end());
    with.insert(with.end(), b.begin(), b.end());
  }
  std::printf("app writes (single-row transactions, %d inserts + %d updates each side)\n", rows, rows);
  std::printf("  without capture: p50 %.1f us, p99 %.1f us\n", percentile(without, 0.5), percentile(without, 0.99));
  std::printf("  with triggers:   p50 %.1f us, p99 %.1f us  (ratio p50 %.2f, p99 %.2f)\n", percentile(with, 0.5),
              percentile(with, 0.99), percentile(with, 0.5) / percentile(without, 0.5),
              percentile(with, 0.99) / percentile(without, 0.99));

  // Reading: the changelog as feed pages (JSON image → typed payload) against a plain SELECT of
  // the same rows from the table, 1000 a page.
  sync::sqlite_capture cap(captured, 1);
  cap.use_map(map);
  const auto head = cap.head();
  double feed_s = 0, select_s = 0;
  std::int64_t events = 0;
  for (int round = 0; round < 3; ++round) {
    auto t0 = clock_type::now();
    for (std::int64_t after = 0; after < head;) {
      auto page = cap.events(after, 1000);
      if (!page || page->events.empty()) break;
      events += static_cast<std::int64_t>(page->events.size());
      after = page->events.back().id;
    }
    auto t1 = clock_type::now();
    sqlite::connection c(captured);
    std::int64_t seen = 0;
    for (std::int64_t after = 0;;) {
      auto st = c.prepare_cached("SELECT id, name, stock, price_cents FROM items WHERE id > ? ORDER BY id LIMIT 1000");
      st->bind(1, after);
      std::int64_t n = 0;
      while (st->step()) {
        after = st->get_int64(0);
        (void)st->get_text(1);
        ++n;
      }
      seen += n;
      if (n < 1000) break;
    }
    // The table has half as many rows as the changelog (each row: an insert and an update):
    // select them twice over for the same number of rows read.
    auto t2 = clock_type::now();
    feed_s += std::chrono::duration<double>(t1 - t0).count();
    select_s += 2 * std::chrono::duration<double>(t2 - t1).count();
    (void)seen;
  }
  const double feed_rate = static_cast<double>(events) / feed_s, select_rate = static_cast<double>(events) / select_s;
  std::printf("reading %lld changes as feed pages of 1000: %.0f rows/s; a plain SELECT of as many rows: %.0f rows/s "
              "(ratio %.2f)\n",
              static_cast<long long>(head), feed_rate, select_rate, feed_rate / select_rate);
  std::filesystem::remove_all(dir);
  return 0;
}

// banyan-sync's configuration for DIR/DB.db's items table (the same schema on every side here).
std::string items_yaml(const std::string& dir, const std::string& db, const std::string& extra) {
  const std::string path = dir + "/" + db + ".yaml";
  std::ofstream(path) << "listen: 127.0.0.1:0\ndatabase: sqlite:" << dir << "/" << db << ".db\nstate_dir: " << dir << "/"
                      << db << "-state\n"
                      << extra
                      << "aggregates:\n  item: {table: items, key: id, fields: {id: id, name: name, stock: stock, "
                         "price_cents: price_cents}}\n";
  return path;
}

int lag(const std::string& bin, int rate, int seconds) {
  const auto dir = temp_dir();
  make_items(dir + "/app.db");
  make_items(dir + "/wait.db");
  make_items(dir + "/poll.db");
  auto yaml = [&](const std::string& db, const std::string& extra) { return items_yaml(dir, db, extra); };
  server publisher(bin, yaml("app", "publish: true\n"), dir + "/app.log");
  server waiting(bin, yaml("wait", "follow: " + publisher.url + "\nfollow_wait: 1s\n"), dir + "/wait.log");
  server polling(bin, yaml("poll", "follow: " + publisher.url + "\nfollow_wait: 0s\n"), dir + "/poll.log");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // both followers caught up on the empty feed

  const int total = rate * seconds;
  std::vector<clock_type::time_point> written(static_cast<std::size_t>(total) + 1);
  std::vector<clock_type::time_point> seen_wait(written.size()), seen_poll(written.size());
  std::atomic<std::int64_t> last_written{0};
  std::atomic<bool> done{false};
  auto watch = [&](const std::string& db, std::vector<clock_type::time_point>& seen) {
    sqlite::connection c(db);
    std::int64_t visible = 0;
    while (!done || visible < last_written) {
      auto st = c.prepare_cached("SELECT max(id) FROM items");
      std::int64_t now_max = st->step() && !st->is_null(0) ? st->get_int64(0) : 0;
      const auto t = clock_type::now();
      for (auto i = visible + 1; i <= now_max && i <= total; ++i) seen[static_cast<std::size_t>(i)] = t;
      visible = std::max(visible, now_max);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (done && clock_type::now() - written[static_cast<std::size_t>(last_written.load())] > std::chrono::seconds(5)) break;
    }
  };
  std::thread w1(watch, dir + "/wait.db", std::ref(seen_wait)), w2(watch, dir + "/poll.db", std::ref(seen_poll));
  {
    sqlite::connection app(dir + "/app.db");
    const auto start = clock_type::now();
    const auto step = std::chrono::nanoseconds(1'000'000'000LL / rate);
    for (int i = 1; i <= total; ++i) {
      std::this_thread::sleep_until(start + step * i);
      app.prepare_cached("INSERT INTO items(name, stock, price_cents) VALUES ('x', ?, 0)")->bind(1, std::int64_t{i}).run();
      written[static_cast<std::size_t>(i)] = clock_type::now();
      last_written = app.last_insert_rowid();
    }
  }
  done = true;
  w1.join();
  w2.join();
  auto lags = [&](const std::vector<clock_type::time_point>& seen) { return lags_ms(written, seen); };
  const auto a = lags(seen_wait), b = lags(seen_poll);
  std::printf("write-to-visible lag at %d writes/s for %d s (%d rows), app → banyan-sync → banyan-sync → database\n",
              rate, seconds, total);
  std::printf("  waiting at the source (follow_wait 1s): %zu rows seen, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", a.size(),
              percentile(a, 0.5), percentile(a, 0.99), percentile(a, 1.0));
  std::printf("  polling every 100 ms (follow_wait 0s):  %zu rows seen, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", b.size(),
              percentile(b, 0.5), percentile(b, 0.99), percentile(b, 1.0));
  std::printf("  ratio p99 (waiting / polling): %.2f\n", percentile(a, 0.99) / percentile(b, 0.99));
  const bool whole = a.size() == static_cast<std::size_t>(total) && b.size() == static_cast<std::size_t>(total);
  if (whole) std::filesystem::remove_all(dir);
  else std::printf("  rows missing: the logs are in %s\n", dir.c_str());
  return whole ? 0 : 1;
}

struct process {
  std::unique_ptr<child_process> proc;
  std::string url;
  process(std::vector<std::string> argv, const std::string& log, int lines = 1) {
    proc = std::make_unique<child_process>(std::move(argv), log);
    std::string last;
    for (int i = 0; i < lines; ++i) {
      auto line = proc->read_line(std::chrono::seconds(20));
      if (!line || line->find("listening on ") == std::string::npos) throw std::runtime_error("did not start: see " + log);
      if (i == 0) url = "http://" + line->substr(line->rfind(' ') + 1);
      last = *line;
    }
    admin = "http://" + last.substr(last.rfind(' ') + 1);
  }
  std::string admin;
  ~process() {
    proc->signal(SIGTERM);
    proc->wait(std::chrono::seconds(10));
  }
};

int copy(const std::string& bin, int rows) {
  const auto dir = temp_dir();
  make_items(dir + "/app.db");
  make_items(dir + "/copy.db");
  {
    sqlite::connection c(dir + "/app.db");
    sqlite::transaction tx(c);
    for (int i = 1; i <= rows; ++i)
      c.prepare_cached("INSERT INTO items(name, stock, price_cents) VALUES (?, ?, ?)")
          ->bind_all("item " + std::to_string(i), std::int64_t{i % 50}, std::int64_t{100 + i})
          .run();
    tx.commit();
  }
  auto yaml = [&](const std::string& db, const std::string& extra) {
    return items_yaml(dir, db, "page_limit: 1000\n" + extra);
  };
  double copy_s = 0;
  {
    server publisher(bin, yaml("app", "publish: true\n"), dir + "/app.log");
    const auto t0 = clock_type::now();
    server follower(bin, yaml("copy", "follow: " + publisher.url + "\n"), dir + "/copy.log");
    sqlite::connection c(dir + "/copy.db");
    for (;;) {
      auto st = c.prepare_cached("SELECT count(*) FROM items");
      if (st->step() && st->get_int64(0) >= rows) break;
      if (clock_type::now() - t0 > std::chrono::minutes(5)) throw std::runtime_error("the copy did not finish in 5 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    copy_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  }
  const auto t1 = clock_type::now();
  const std::string cmd = "sqlite3 '" + dir + "/app.db' '.dump items' | sed 's/CREATE TABLE items/CREATE TABLE dumped/; "
                          "s/INSERT INTO items/INSERT INTO dumped/' | sqlite3 '" + dir + "/dump.db'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("the dump failed: " + cmd);
  const double dump_s = std::chrono::duration<double>(clock_type::now() - t1).count();
  std::printf("copy %d rows: banyan-sync backfill (pages of 1000 over HTTP, startup included) %.2f s, %.0f rows/s; "
              "sqlite3 .dump | sqlite3 %.2f s, %.0f rows/s (ratio of rates %.2f)\n",
              rows, copy_s, rows / copy_s, dump_s, rows / dump_s, dump_s / copy_s);
  std::filesystem::remove_all(dir);
  return 0;
}

// The run itself; its processes stop when it returns (so that its folder can be removed after).
// `app_db`, `svc_db`: what the apps are given (--db): a file, or a postgresql:// URL.
// `fleet` > 0: that many proxies on one etcd member (docs/fleet.md), the writes spread over them.
bool cutover_run(const std::string& dir, const std::string& bin, const std::string& source, int rate, int moves,
                 const std::string& app_db, const std::string& svc_db, int fleet) {
  process app({"/usr/bin/python3", source + "/docs/examples/inventory_app.py", "--listen", "127.0.0.1:0", "--db", app_db},
              dir + "/app.log");
  process svc({"/usr/bin/python3", source + "/docs/examples/items_service.py", "--listen", "127.0.0.1:0", "--db", svc_db},
              dir + "/svc.log");
  auto database = [](const std::string& db) { return db.find("://") != std::string::npos ? db : "sqlite:" + db; };
  auto write_yaml = [&](const std::string& name, const std::string& body) {
    std::ofstream(dir + "/" + name + ".yaml") << body;
    return dir + "/" + name + ".yaml";
  };
  const std::string items = "aggregates:\n  item: {table: items, key: id, fields: {id: id, name: name, stock: stock, "
                            "price_cents: price_cents}}\n";
  auto app_sync = std::make_unique<process>(
      std::vector<std::string>{bin + "/banyan-sync", "--config",
                               write_yaml("app-sync", "listen: 127.0.0.1:0\ndatabase: " + database(app_db) + "\nstate_dir: " +
                                                          dir + "/app-sync\npublish: true\n" + items)},
      dir + "/app-sync.log");
  const auto app_sync_url = app_sync->url;
  process svc_sync({bin + "/banyan-sync", "--config",
                    write_yaml("svc-sync", "listen: 127.0.0.1:0\ndatabase: " + database(svc_db) + "\nstate_dir: " + dir +
                                               "/svc-sync\npublish: true\nfollow: " + app_sync_url +
                                               "\naggregates:\n  item: {table: products, key: pid, fields: {id: pid, "
                                               "name: title, stock: qty, price_cents: price_cents}}\n")},
                   dir + "/svc-sync.log");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  app_sync.reset();  // again on its address, following the service back
  app_sync = std::make_unique<process>(
      std::vector<std::string>{bin + "/banyan-sync", "--config",
                               write_yaml("app-sync", "listen: " + app_sync_url.substr(7) + "\ndatabase: " + database(app_db) +
                                                          "\nstate_dir: " + dir + "/app-sync\npublish: true\nfollow: " +
                                                          svc_sync.url + "\n" + items)},
      dir + "/app-sync.log");
  std::unique_ptr<test::etcd_cluster> etcd;
  std::string fleet_config;
  if (fleet > 0) {
    etcd = std::make_unique<test::etcd_cluster>(1);
    std::ofstream(dir + "/fleet.token") << "b3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nc\n";
    std::filesystem::permissions(dir + "/fleet.token",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    fleet_config = "etcd: {endpoints: '" + etcd->endpoints() + "'}\n";
  }
  std::vector<std::unique_ptr<process>> proxies;
  for (int i = 0; i < std::max(fleet, 1); ++i) {
    const std::string name = "proxy" + std::to_string(i), state = dir + "/" + name;
    proxies.push_back(std::make_unique<process>(
        std::vector<std::string>{
            bin + "/banyan-proxy", "--config",
            write_yaml(name, "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0" +
                                 (fleet > 0 ? ", token_file: " + dir + "/fleet.token" : std::string()) +
                                 "}\nmonolith: " + app.url + "\nstate_dir: " + state +
                                 "\naccess_log: off\nhealth_checks: {path: \"\"}\n"
                                 "data:\n  monolith: " + app_sync_url + "\n  items: " + svc_sync.url + "\n" + fleet_config)},
        dir + "/" + name + ".log", 2));
  }
  std::string token;
  std::ifstream(fleet > 0 ? dir + "/fleet.token" : dir + "/proxy0/admin.token") >> token;
  http::client admin(proxies.front()->admin);
  http::header_list h;
  h.add("Authorization", "Bearer " + token);
  h.add("Content-Type", "application/json");
  auto routes = admin.send("PUT", "/api/v1/routes", h,
                           R"({"services":{"items":")" + svc.url + R"("},"routes":[
      {"id":"item-create","match":{"methods":["POST"],"path":"/api/items"},"service":"items","mode":"monolith"},
      {"id":"item-change","match":{"methods":["PUT","DELETE"],"path":"/api/items/{id}"},"service":"items","mode":"monolith"}]})");
  if (!routes || routes->status != 200) throw std::runtime_error("routes not accepted");

  struct sample {
    clock_type::time_point at;
    double ms;
    bool ok;
  };
  std::vector<std::vector<sample>> written(proxies.size());
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (std::size_t p = 0; p < proxies.size(); ++p)
    writers.emplace_back([&, p] {
      http::client c(proxies[p]->url);
      http::header_list j;
      j.add("Content-Type", "application/json");
      const auto start = clock_type::now();
      const auto step = std::chrono::nanoseconds(1'000'000'000LL * static_cast<long long>(proxies.size()) / rate);
      for (long i = 0; !stop; ++i) {
        std::this_thread::sleep_until(start + step * i);
        const auto t0 = clock_type::now();
        // Each writer its own of the 40 items: a write's outcome does not depend on another proxy's.
        const auto share = 40 / static_cast<long>(proxies.size());
        const auto item = 1 + static_cast<long>(p) * share + i % share;
        auto r = c.send("PUT", "/api/items/" + std::to_string(item), j, R"({"stock":)" + std::to_string(i % 1000) + "}");
        written[p].push_back(
            {t0, std::chrono::duration<double, std::milli>(clock_type::now() - t0).count(), r && r->status == 200});
      }
    });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::vector<double> holds;
  std::vector<clock_type::time_point> moved_at;
  for (int m = 0; m < moves; ++m) {
    const std::string mode = m % 2 == 0 ? "service" : "monolith";
    moved_at.push_back(clock_type::now());
    auto r = admin.send("POST", "/api/v1/routes/mode", h, R"({"routes":["item-create","item-change"],"mode":")" + mode + R"("})");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "move %d: %s\n", m, r ? r->body.c_str() : "no answer");
      continue;
    }
    const auto at = r->body.find("\"held_ms\":");
    if (at != std::string::npos) holds.push_back(std::atof(r->body.c_str() + at + 10));
    if (std::getenv("SYNC_BENCH_VERBOSE")) std::printf("%s\n", r->body.substr(r->body.find("\"cutover\"")).c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  stop = true;
  for (auto& w : writers) w.join();
  std::vector<sample> writes;
  for (const auto& w : written) writes.insert(writes.end(), w.begin(), w.end());
  std::vector<double> steady, after_move;
  std::size_t failed = 0;
  for (const auto& s : writes) {
    failed += s.ok ? 0 : 1;
    bool near = false;
    for (const auto& t : moved_at) near = near || (s.at >= t && s.at < t + std::chrono::seconds(1));
    (near ? after_move : steady).push_back(s.ms);
  }
  std::printf("write cut-over with banyan-sync on both sides: %d moves, %d writes/s through %s, %zu writes, %zu failed\n",
              moves, rate, fleet > 0 ? (std::to_string(fleet) + " proxies on etcd").c_str() : "the proxy", writes.size(),
              failed);
  std::printf("  barrier hold: p50 %.0f ms, max %.0f ms (%zu switched)\n", percentile(holds, 0.5), percentile(holds, 1.0),
              holds.size());
  std::printf("  write latency steady: p50 %.1f ms, p99 %.1f ms; in the second after a move: p50 %.1f ms, p99 %.1f ms, "
              "max %.1f ms (p99 ratio %.2f)\n",
              percentile(steady, 0.5), percentile(steady, 0.99), percentile(after_move, 0.5), percentile(after_move, 0.99),
              percentile(after_move, 1.0), percentile(after_move, 0.99) / percentile(steady, 0.99));
  return failed == 0 && holds.size() == static_cast<std::size_t>(moves);
}

int cutover(const std::string& bin, const std::string& source, int rate, int moves, bool postgres, int fleet) {
  const auto dir = temp_dir();
  bool ok = false;
  if (postgres) {
    test::postgres_server pg;
    pg.create_database("app");
    pg.create_database("svc");
    std::printf("(both apps on PostgreSQL)\n");
    ok = cutover_run(dir, bin, source, rate, moves, pg.url("app"), pg.url("svc"), fleet);
  } else {
    ok = cutover_run(dir, bin, source, rate, moves, dir + "/app.db", dir + "/svc.db", fleet);
  }
  if (ok) std::filesystem::remove_all(dir);
  else std::printf("  logs in %s\n", dir.c_str());
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto option = [&](const char* name, int fallback) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == name) return std::atoi(args[i + 1].c_str());
    return fallback;
  };
  try {
    if (!args.empty() && args[0] == "capture") return capture(option("--rows", 20000));
    if (args.size() >= 2 && args[0] == "lag") return lag(args[1], option("--rate", 1000), option("--seconds", 10));
    if (args.size() >= 2 && args[0] == "copy") return copy(args[1], option("--rows", 100000));
    if (args.size() >= 3 && args[0] == "cutover")
      return cutover(args[1], args[2], option("--rate", 400), option("--moves", 10),
                     std::find(args.begin(), args.end(), "--postgres") != args.end(), option("--fleet", 0));
    if (args.size() >= 2 && args[0] == "pg")
      return postgres_bench(args[1], option("--rows", 100000), option("--rate", 1000), option("--seconds", 10));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sync_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: sync_bench capture [--rows N] | sync_bench lag BIN_DIR [--rate N] [--seconds S]\n"
               "       sync_bench copy BIN_DIR [--rows N]\n"
               "       sync_bench cutover BIN_DIR SOURCE_DIR [--rate N] [--moves M] [--postgres] [--fleet N]\n"
               "       sync_bench pg BIN_DIR [--rows N] [--rate R] [--seconds S]\n");
  return 2;
}
