// sync_bench pg BIN_DIR [--rows N] [--rate R] [--seconds S]: banyan-sync on PostgreSQL, on a server
// of the run's own (initdb, a Unix socket, wal_level = logical; fsync off, as the tests run it):
//
//  1. capture: N rows written (100 a transaction) while the consumers are stopped, then decoded from
//     the slot's backlog — pg_recvlogical (pgoutput, to a file) alone, then banyan-sync alone (into
//     its durable changelog) — each timed until it has the last change;
//  2. lag: an app inserting R rows/s for S s; when each is in banyan-sync's feed (a long-polling
//     reader) and when it is in a second database through a banyan-sync follower;
//  3. apply: a banyan-sync follower copying the N rows into a fresh database (backfill rows/s).
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/postgres.hpp"
#include "support/postgres_server.hpp"
#include "sync_bench.hpp"

#include <boost/json/parse.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

namespace banyan::bench {

namespace {

namespace json = boost::json;

const char* const items_ddl =
    "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, stock int NOT NULL, price_cents int NOT NULL)";

std::string pg_yaml(const std::string& dir, const std::string& name, const std::string& url, const std::string& extra) {
  const std::string path = dir + "/" + name + ".yaml";
  std::ofstream(path) << "listen: 127.0.0.1:0\ndatabase: " << url << "\nstate_dir: " << dir << "/" << name << "-state\n"
                      << extra
                      << "aggregates:\n  item: {table: items, key: id, fields: {id: id, name: name, stock: stock, "
                         "price_cents: price_cents}}\n";
  return path;
}

std::string pg_bin_dir() {
  for (const char* v : {"17", "16", "15", "14", "13"}) {
    const std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (std::filesystem::exists(dir + "/pg_recvlogical")) return dir;
  }
  throw std::runtime_error("no pg_recvlogical under /usr/lib/postgresql");
}

std::int64_t json_int(http::client& c, const std::string& target, const char* field) {
  auto r = c.get(target);
  if (!r || r->status != 200) return -1;
  return json::parse(r->body).at(field).as_int64();
}

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// (1) Decoding a backlog of `rows` rows: pg_recvlogical, then banyan-sync, each alone.
void capture_rate(const std::string& bin, const std::string& dir, test::postgres_server& pg, int rows) {
  pg.create_database("cap");
  const auto url = pg.url("cap");
  auto c = pg.connect("cap");
  c.exec(items_ddl);
  const auto config = pg_yaml(dir, "cap", url, "publish: true\n");
  { server once(bin, config, dir + "/cap.log"); }  // installs the publication and the slot, then stops
  c.exec("CREATE PUBLICATION reference FOR TABLE items");
  c.exec("SELECT pg_create_logical_replication_slot('reference', 'pgoutput')");
  for (int done = 0; done < rows; done += 100)
    c.exec("INSERT INTO items(name, stock, price_cents) SELECT 'item ' || g, g % 50, 100 + g FROM generate_series(1, 100) g");
  c.exec("SELECT pg_logical_emit_message(true, 'bench', 'ENDMARK')");

  const auto out = dir + "/recvlogical.out";
  const auto t0 = clock_type::now();
  double reference_s = 0;
  {
    child_process recv({pg_bin_dir() + "/pg_recvlogical", "-d", url, "--slot", "reference", "--start", "-o",
                        "proto_version=1", "-o", "publication_names=reference", "-o", "messages=true", "-f", out,
                        "--no-loop", "-F", "1"},
                       dir + "/recvlogical.log");
    for (;;) {
      std::ifstream f(out, std::ios::binary);
      f.seekg(0, std::ios::end);
      const auto size = static_cast<std::streamoff>(f.tellg());
      if (size > 0) {
        f.seekg(std::max<std::streamoff>(0, size - 4096));
        const std::string tail((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (tail.find("ENDMARK") != std::string::npos) break;
      }
      if (seconds_since(t0) > 300) throw std::runtime_error("pg_recvlogical did not finish (see " + dir + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    reference_s = seconds_since(t0);
    recv.signal(SIGINT);
    recv.wait(std::chrono::seconds(10));
  }
  const auto t1 = clock_type::now();
  double banyan_s = 0;
  {
    server publisher(bin, config, dir + "/cap.log");
    http::client h(publisher.url);
    while (json_int(h, "/internal/capture", "head") < rows) {
      if (seconds_since(t1) > 300) throw std::runtime_error("banyan-sync did not finish (see " + dir + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    banyan_s = seconds_since(t1);
  }
  std::printf("capture: %d rows in %d transactions, decoded from the slot's backlog\n", rows, rows / 100);
  std::printf("  pg_recvlogical (pgoutput to a file):                   %.2f s, %.0f rows/s\n", reference_s, rows / reference_s);
  std::printf("  banyan-sync (pgoutput to its durable changelog, from start): %.2f s, %.0f rows/s (ratio %.2f)\n", banyan_s,
              rows / banyan_s, reference_s / banyan_s);
}

// (2) Write-to-visible lag at a steady rate: in the feed, and in a follower's database.
void lag(const std::string& bin, const std::string& dir, test::postgres_server& pg, int rate, int seconds) {
  pg.create_database("lagapp");
  pg.create_database("lagsvc");
  pg.connect("lagapp").exec(items_ddl);
  pg.connect("lagsvc").exec(items_ddl);
  server publisher(bin, pg_yaml(dir, "lagapp", pg.url("lagapp"), "publish: true\n"), dir + "/lagapp.log");
  server follower(bin, pg_yaml(dir, "lagsvc", pg.url("lagsvc"), "follow: " + publisher.url + "\n"), dir + "/lagsvc.log");
  std::this_thread::sleep_for(std::chrono::seconds(1));

  const int total = rate * seconds;
  std::vector<clock_type::time_point> written(static_cast<std::size_t>(total) + 1), in_feed(written.size()),
      in_svc(written.size());
  std::atomic<bool> done{false};
  std::thread feed_reader([&] {
    http::client h(publisher.url);
    std::int64_t after = 0;
    while (after < total && !(done && seconds_since(written[static_cast<std::size_t>(total)]) > 5)) {
      auto r = h.get("/internal/events?after=" + std::to_string(after) + "&limit=1000&wait=1000");
      if (!r || r->status != 200) continue;
      const auto t = clock_type::now();
      const auto page = json::parse(r->body);
      if (!page.is_object()) {
        std::fprintf(stderr, "feed page is not an object: %.200s\n", r->body.c_str());
        continue;
      }
      for (const auto& e : page.at("events").as_array()) {
        const auto id = e.at("payload").at("stock").as_int64();  // the write's number
        if (id >= 1 && id <= total) in_feed[static_cast<std::size_t>(id)] = t;
        after = e.at("id").as_int64();
      }
    }
  });
  std::thread svc_watch([&] {
    auto c = pg.connect("lagsvc");
    c.prepare("max", "SELECT coalesce(max(stock), 0) FROM items");
    std::int64_t visible = 0;
    while (visible < total && !(done && seconds_since(written[static_cast<std::size_t>(total)]) > 5)) {
      const auto now_max = c.exec_prepared("max", {}).int64(0, 0);
      const auto t = clock_type::now();
      for (auto i = visible + 1; i <= now_max; ++i) in_svc[static_cast<std::size_t>(i)] = t;
      visible = std::max(visible, now_max);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  {
    auto app = pg.connect("lagapp");
    app.prepare("insert", "INSERT INTO items(name, stock, price_cents) VALUES ('x', $1, 0)");
    const auto start = clock_type::now();
    const auto step = std::chrono::nanoseconds(1'000'000'000LL / rate);
    for (int i = 1; i <= total; ++i) {
      std::this_thread::sleep_until(start + step * i);
      app.exec_prepared("insert", {std::to_string(i)});
      written[static_cast<std::size_t>(i)] = clock_type::now();
    }
  }
  done = true;
  feed_reader.join();
  svc_watch.join();
  auto lags = [&](const std::vector<clock_type::time_point>& seen) { return lags_ms(written, seen); };
  const auto f = lags(in_feed), s = lags(in_svc);
  std::printf("write-to-visible lag at %d writes/s for %d s (%d single-row transactions)\n", rate, seconds, total);
  std::printf("  in banyan-sync's feed (a long-polling reader): %zu seen, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", f.size(),
              percentile(f, 0.5), percentile(f, 0.99), percentile(f, 1.0));
  std::printf("  in a follower's PostgreSQL database:           %zu seen, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", s.size(),
              percentile(s, 0.5), percentile(s, 0.99), percentile(s, 1.0));
}

// (3) A follower copying `rows` rows into a fresh database.
void apply_rate(const std::string& bin, const std::string& dir, test::postgres_server& pg, int rows) {
  pg.create_database("copy");
  pg.connect("copy").exec(items_ddl);
  server publisher(bin, pg_yaml(dir, "cap", pg.url("cap"), "publish: true\n"), dir + "/cap2.log");
  const auto t0 = clock_type::now();
  server follower(bin, pg_yaml(dir, "copy", pg.url("copy"), "page_limit: 1000\nfollow: " + publisher.url + "\n"),
                  dir + "/copy.log");
  http::client h(follower.url);
  for (;;) {
    auto r = h.get("/internal/sync");
    if (r && r->status == 200 && json::parse(r->body).at("state").as_string() == "following") break;
    if (seconds_since(t0) > 300) throw std::runtime_error("the copy did not finish (see " + dir + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double s = seconds_since(t0);
  const auto copied = pg.connect("copy").exec("SELECT count(*) FROM items").int64(0, 0);
  std::printf("apply: a follower's backfill of %lld rows into PostgreSQL, pages of 1000: %.2f s, %.0f rows/s\n",
              static_cast<long long>(copied), s, static_cast<double>(copied) / s);
  if (copied != rows) throw std::runtime_error("the copy has " + std::to_string(copied) + " rows, not " + std::to_string(rows));
}

}  // namespace

int postgres_bench(const std::string& bin, int rows, int rate, int seconds) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto dir = temp_dir();
  {
    test::postgres_server pg;
    capture_rate(bin, dir, pg, rows);
    lag(bin, dir, pg, rate, seconds);
    apply_rate(bin, dir, pg, rows);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace banyan::bench
