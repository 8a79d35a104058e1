#pragma once
// banyan-sync's process tests' shared parts: banyan-sync from a configuration file, the guide's
// example apps (docs/examples: no code of ours in them), and clients writing items through the
// proxy that remember what they were told was written.
#include "support/etcd_cluster.hpp"
#include "support/fleet_proxy.hpp"
#include "support/http_client.hpp"
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

namespace banyan::test {

struct sync_process {
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0;
  std::string config;
  sync_process(const temp_dir& dir, const std::string& name, const std::string& yaml) : config(dir.file(name + ".yaml")) {
    std::ofstream(config) << yaml;
    proc = std::make_unique<child_process>(std::vector<std::string>{binary("banyan-sync"), "--config", config},
                                           dir.file(name + ".log"));
    port = wait_for_listening(*proc);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  boost::json::object sync() const {
    const auto r = http_call(port, "GET", "/internal/sync");
    INFO("GET /internal/sync: " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return boost::json::parse(r.body).as_object();
  }
  // committed=1: a head that covers every commit made so far (on PostgreSQL the changelog is
  // written from the WAL a moment after the commit; without it "caught up" was judged too early).
  std::int64_t head() const {
    return boost::json::parse(http_call(port, "GET", "/internal/events?after=0&limit=1&committed=1").body).at("head").as_int64();
  }
};

// The follower has applied everything the source had when asked.
inline bool caught_up(const sync_process& follower, const sync_process& source) {
  const auto s = follower.sync();
  return s.at("state").as_string() == "following" && s.at("applied").as_int64() >= source.head();
}

// A Python app from docs/examples (no code of ours in it) on its own database: a SQLite file's
// name in `dir`, or a postgresql:// URL.
struct python_app {
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0;
  python_app(const temp_dir& dir, const std::string& script, const std::string& db) {
    proc = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/bin/python3", std::string(BANYAN_SOURCE_DIR) + "/docs/examples/" + script,
                                 "--listen", "127.0.0.1:0", "--db",
                                 db.find("://") == std::string::npos ? dir.file(db) : db},
        dir.file(script + ".log"));
    port = wait_for_listening(*proc);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  ~python_app() {
    proc->signal(SIGTERM);
    proc->wait(std::chrono::seconds(5));
  }
};

inline const std::string item_fields = "{id: id, name: name, stock: stock, price_cents: price_cents}";

// Clients creating items and changing the stock of the ones they created, through the proxy, as
// fast as they can; each remembers the last stock it was told was written.
struct item_clients {
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, failed{0};
  std::mutex mutex;
  std::map<std::int64_t, std::int64_t> stock_of;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  // `count` clients, spread over `ports` (a fleet's instances) in turn.
  item_clients(const std::vector<std::uint16_t>& ports, int count) {
    for (int w = 0; w < count; ++w)
      threads.emplace_back([this, port = ports[static_cast<std::size_t>(w) % ports.size()], w] {
        std::vector<std::int64_t> mine;
        for (int i = 0; !stop; ++i) {
          http_reply r;
          std::string what;
          std::int64_t id = 0, stock = i;
          try {
            if (mine.size() < 2 || i % 4 == 0) {
              what = "create";
              r = http_json(port, "POST", "/api/items",
                            R"({"name":"client )" + std::to_string(w) + "-" + std::to_string(i) + R"(","stock":)" +
                                std::to_string(stock) + "}");
              if (r.status == 201) {
                id = boost::json::parse(r.body).at("id").as_int64();
                mine.push_back(id);
              }
            } else {
              what = "update";
              id = mine[static_cast<std::size_t>(i) % mine.size()];
              r = http_json(port, "PUT", "/api/items/" + std::to_string(id), R"({"stock":)" + std::to_string(stock) + "}");
            }
          } catch (const std::exception& e) {
            r.status = 0;
            r.body = e.what();
          }
          std::lock_guard lock(mutex);
          if (r.status == 200 || r.status == 201) {
            ++acknowledged;
            stock_of[id] = stock;
          } else {
            ++failed;
            failures.push_back(what + " " + std::to_string(id) + ": " + std::to_string(r.status) + " " + r.body);
          }
        }
      });
  }
  void wait_for(int more) {
    const int target = acknowledged + more;
    REQUIRE(eventually([&] { return acknowledged >= target; }, std::chrono::seconds(30)));
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
  ~item_clients() {
    if (!stop) finish();
  }
};

// One side's database: what the example app is given (--db) and banyan-sync's `database:`.
struct app_database {
  std::string app_arg;
  std::string database;
};

// How the writes move: through one proxy, or a fleet of them on an etcd of the test's own; with
// the databases refusing foreign writes or only counting them.
struct move_options {
  int fleet = 0;
  bool refuse_foreign_writes = false;
};

// The guide's section on moving writes, with no feed in either app: the app and the service each
// with banyan-sync (both directions), the proxy's barrier moving create and change routes together
// to the service, back, and forward again under 3 writing clients. Every request answered, every
// acknowledged write on both sides, `banyan data verify` clean, no foreign writes. Returns how many
// writes were acknowledged.
// The guide's two apps, each with its banyan-sync publishing and following the other (the
// monolith's side restarted on its port to follow the service back), as once the writes may move.
struct guide_pair {
  python_app app, svc;
  std::unique_ptr<sync_process> app_side, svc_side;
  guide_pair(temp_dir& dir, const app_database& app_db, const app_database& svc_db, bool refuse_foreign_writes)
      : app(dir, "inventory_app.py", app_db.app_arg), svc(dir, "items_service.py", svc_db.app_arg) {
    const std::string refuse = refuse_foreign_writes ? "foreign_writes: refuse\n" : "";
    auto app_yaml = [&](const std::string& listen, const std::string& follow) {
      return "listen: " + listen + "\ndatabase: " + app_db.database + "\nstate_dir: " + dir.file("app-sync") +
             "\npublish: true\n" + (follow.empty() ? "" : "follow: " + follow + "\n") + refuse +
             "aggregates:\n  item: {table: items, key: id, fields: " + item_fields + "}\n";
    };
    app_side = std::make_unique<sync_process>(dir, "app-sync", app_yaml("127.0.0.1:0", ""));
    const auto app_sync_port = app_side->port;
    svc_side = std::make_unique<sync_process>(dir, "svc-sync",
                                              "listen: 127.0.0.1:0\ndatabase: " + svc_db.database + "\nstate_dir: " +
                                                  dir.file("svc-sync") + "\npublish: true\nfollow: " + app_side->url() +
                                                  "\n" + refuse +
                                                  "aggregates:\n  item: {table: products, key: pid, fields: {id: pid, "
                                                  "name: title, stock: qty, price_cents: price_cents}}\n");
    REQUIRE(eventually([&] { return svc_side->sync().at("state").as_string() == "following"; }, std::chrono::seconds(20)));
    app_side->proc->signal(SIGTERM);
    REQUIRE(app_side->proc->wait(std::chrono::seconds(10)) == 0);
    app_side = std::make_unique<sync_process>(dir, "app-sync",
                                              app_yaml("127.0.0.1:" + std::to_string(app_sync_port), svc_side->url()));
    REQUIRE(eventually([&] { return app_side->sync().at("state").as_string() == "following"; }, std::chrono::seconds(20)));
  }
  // The proxy's configuration for moving the items' writes between them.
  std::string proxy_yaml(const std::string& hold_limit = "3s") const {
    return "cutover: {hold_limit: " + hold_limit + "}\ndata:\n  monolith: " + app_side->url() + "\n  items: " +
           svc_side->url() + "\n";
  }
  // The routes: create and change, with the monolith.
  std::string routes() const {
    return R"({"services":{"items":")" + svc.url() + R"("},"routes":[
      {"id":"item-create","match":{"methods":["POST"],"path":"/api/items"},"service":"items","mode":"monolith"},
      {"id":"item-change","match":{"methods":["PUT","DELETE"],"path":"/api/items/{id}"},"service":"items","mode":"monolith"}]})";
  }
};

inline int writes_move_under_proxy(temp_dir& dir, const app_database& app_db, const app_database& svc_db,
                                   const move_options& how = {}) {
  guide_pair pair(dir, app_db, svc_db, how.refuse_foreign_writes);
  auto& app = pair.app;
  auto& svc = pair.svc;
  auto& app_side = pair.app_side;
  auto& svc_side = *pair.svc_side;
  const std::string proxy_yaml = pair.proxy_yaml();
  std::unique_ptr<proxy_process> proxy;
  std::unique_ptr<etcd_cluster> etcd;
  std::vector<std::unique_ptr<fleet_proxy>> fleet;
  std::vector<std::uint16_t> ports;
  if (how.fleet > 0) {
    etcd = std::make_unique<etcd_cluster>(1);
    const auto token = write_fleet_token(dir);
    for (int i = 0; i < how.fleet; ++i) {
      fleet.push_back(std::make_unique<fleet_proxy>(app.url(), etcd->endpoints(), token, proxy_yaml));
      ports.push_back(fleet.back()->port);
    }
  } else {
    proxy = std::make_unique<proxy_process>(dir, app.url(), "access_log: off\nhealth_checks: {path: \"\"}\n" + proxy_yaml);
    ports.push_back(proxy->port);
  }
  // Changes through the one proxy, or the fleet's first instance.
  auto admin = [&](std::string_view method, std::string_view target, std::string_view body) {
    return proxy ? proxy->admin(method, target, body) : fleet.front()->admin(method, target, body);
  };
  REQUIRE(admin("PUT", "/api/v1/routes", pair.routes()).status == 200);
  if (!fleet.empty())  // every instance serves the routes before the clients start
    REQUIRE(eventually([&] {
      for (const auto& f : fleet)
        if (f->admin("GET", "/api/v1/routes").body.find("item-create") == std::string::npos) return false;
      return true;
    }));
  item_clients clients(ports, 3);
  clients.wait_for(60);
  auto move = [&](const char* mode) {
    const auto r = admin("POST", "/api/v1/routes/mode",
                         std::string(R"({"routes":["item-create","item-change"],"mode":")") + mode + R"("})");
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(boost::json::parse(r.body).at("cutover").at("switched").as_bool());
    clients.wait_for(150);
  };
  move("service");
  move("monolith");
  move("service");
  clients.finish();
  INFO([&] {
    std::string all;
    for (const auto& f : clients.failures) all += f + "\n";
    return all;
  }());
  CHECK(clients.failed == 0);
  // Both sides caught up with each other; every acknowledged write on both, with its last stock.
  REQUIRE(eventually([&] { return caught_up(*app_side, svc_side) && caught_up(svc_side, *app_side); }));
  for (const auto& [id, stock] : clients.stock_of) {
    for (const auto port : {app.port, svc.port}) {
      const auto r = http_call(port, "GET", "/api/items/" + std::to_string(id));
      INFO("item " << id << " on port " << port << ": " << r.body);
      REQUIRE(r.status == 200);
      CHECK(boost::json::parse(r.body).at("stock").as_int64() == stock);
    }
  }
  const auto verify = run_banyan({"data", "verify", "--from", app.url(), "--to", svc.url(), "--entity", "items",
                                  "--ignore", "served_at,served_by", "--page-size", "1000"},
                                 dir);
  INFO(verify.out << verify.err);
  CHECK(verify.code == 0);
  CHECK(app_side->sync().at("foreign_writes").as_int64() == 0);
  CHECK(svc_side.sync().at("foreign_writes").as_int64() == 0);
  return clients.acknowledged;
}

}  // namespace banyan::test
