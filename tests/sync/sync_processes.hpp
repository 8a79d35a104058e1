#pragma once
// banyan-sync's process tests' shared parts: banyan-sync from a configuration file, the guide's
// example apps (docs/examples: no code of ours in them), and clients writing items through the
// proxy that remember what they were told was written.
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
  item_clients(std::uint16_t port, int count) {
    for (int w = 0; w < count; ++w)
      threads.emplace_back([this, port, w] {
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

// The guide's section on moving writes, with no feed in either app: the app and the service each
// with banyan-sync (both directions), the proxy's barrier moving create and change routes together
// to the service, back, and forward again under 3 writing clients. Every request answered, every
// acknowledged write on both sides, `banyan data verify` clean, no foreign writes. Returns how many
// writes were acknowledged.
inline int writes_move_under_proxy(temp_dir& dir, const app_database& app_db, const app_database& svc_db) {
  python_app app(dir, "inventory_app.py", app_db.app_arg);
  python_app svc(dir, "items_service.py", svc_db.app_arg);
  auto app_yaml = [&](const std::string& listen, const std::string& follow) {
    return "listen: " + listen + "\ndatabase: " + app_db.database + "\nstate_dir: " + dir.file("app-sync") +
           "\npublish: true\n" + (follow.empty() ? "" : "follow: " + follow + "\n") +
           "aggregates:\n  item: {table: items, key: id, fields: " + item_fields + "}\n";
  };
  auto app_side = std::make_unique<sync_process>(dir, "app-sync", app_yaml("127.0.0.1:0", ""));
  const auto app_sync_port = app_side->port;
  sync_process svc_side(dir, "svc-sync",
                        "listen: 127.0.0.1:0\ndatabase: " + svc_db.database + "\nstate_dir: " +
                            dir.file("svc-sync") + "\npublish: true\nfollow: " + app_side->url() +
                            "\naggregates:\n  item: {table: products, key: pid, fields: {id: pid, name: title, "
                            "stock: qty, price_cents: price_cents}}\n");
  REQUIRE(eventually([&] { return svc_side.sync().at("state").as_string() == "following"; }, std::chrono::seconds(20)));
  // The monolith's side follows the service back: restarted on its port with follow:.
  app_side->proc->signal(SIGTERM);
  REQUIRE(app_side->proc->wait(std::chrono::seconds(10)) == 0);
  app_side = std::make_unique<sync_process>(dir, "app-sync",
                                            app_yaml("127.0.0.1:" + std::to_string(app_sync_port), svc_side.url()));
  REQUIRE(eventually([&] { return app_side->sync().at("state").as_string() == "following"; }, std::chrono::seconds(20)));

  proxy_process proxy(dir, app.url(),
                      "access_log: off\nhealth_checks: {path: \"\"}\ncutover: {hold_limit: 3s}\ndata:\n  monolith: " +
                          app_side->url() + "\n  items: " + svc_side.url() + "\n");
  REQUIRE(proxy.admin("PUT", "/api/v1/routes",
                      R"({"services":{"items":")" + svc.url() + R"("},"routes":[
                        {"id":"item-create","match":{"methods":["POST"],"path":"/api/items"},"service":"items","mode":"monolith"},
                        {"id":"item-change","match":{"methods":["PUT","DELETE"],"path":"/api/items/{id}"},"service":"items","mode":"monolith"}]})")
              .status == 200);
  item_clients clients(proxy.port, 3);
  clients.wait_for(60);
  auto move = [&](const char* mode) {
    const auto r = proxy.admin("POST", "/api/v1/routes/mode",
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
  return clients.acknowledged;
}

}  // namespace banyan::test
