// The write cut-over as users run it (issue 13): legacy-shop, catalog-service and banyan-proxy as
// real processes, the shipped plan migrations/001-extract-catalog.yaml moved with the banyan CLI,
// clients writing through the proxy all along.
#include "support/etcd_cluster.hpp"
#include "support/fleet_proxy.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace banyan::test;
namespace json = boost::json;

namespace {

const std::string plan_file = std::string(BANYAN_SOURCE_DIR) + "/migrations/001-extract-catalog.yaml";

json::object sync_of(std::uint16_t port) {
  const auto r = http_call(port, "GET", "/internal/sync");
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

std::int64_t head_of(std::uint16_t port) {
  const auto r = http_call(port, "GET", "/internal/events?after=0&limit=1");
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("head").as_int64();
}

// `follower` has applied everything `source` has published.
bool applied_all(std::uint16_t follower, std::uint16_t source) {
  const auto s = sync_of(follower);
  return s.at("state").as_string() == "following" && s.at("applied").as_int64() == head_of(source);
}

// legacy-shop and catalog-service following each other, as 001-extract-catalog.yaml asks: the
// service copies the monolith and follows its feed; the monolith follows the service's feed back.
// Then banyan-proxy in front, with the plan's reads stage in force.
// With `fleet_size`, a fleet of that many banyan-proxy instances on an etcd of the test's own
// (docs/fleet.md) stands in front instead of one proxy.
struct migration_stack {
  temp_dir dir;
  std::unique_ptr<shop_process> shop;
  std::unique_ptr<catalog_process> catalog;
  std::unique_ptr<proxy_process> proxy;
  std::unique_ptr<etcd_cluster> etcd;
  std::vector<std::unique_ptr<fleet_proxy>> fleet;
  std::string fleet_token_file;

  explicit migration_stack(const std::string& proxy_yaml = "cutover: {hold_limit: 3s}\n", int fleet_size = 0) {
    shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop.log"), true);
    const auto port = shop->port;
    catalog = std::make_unique<catalog_process>(dir.file("catalog.db"), dir.file("catalog.log"), shop->url());
    REQUIRE(eventually([&] { return applied_all(catalog->port, port); }, std::chrono::seconds(20)));
    // legacy-shop learns the service's URL only now: restarted on its port, following it.
    REQUIRE(shop->stop() == 0);
    shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop2.log"), false, port,
                                          std::vector<std::string>{"--follow", catalog->url()});
    ::setenv("CATALOG_URL", catalog->url().c_str(), 1);  // the plan's ${CATALOG_URL}
    if (fleet_size > 0) {
      etcd = std::make_unique<etcd_cluster>(1);
      fleet_token_file = write_fleet_token(dir);
      for (int i = 0; i < fleet_size; ++i)
        fleet.push_back(std::make_unique<fleet_proxy>(shop->url(), etcd->endpoints(), fleet_token_file, proxy_yaml));
    } else {
      proxy = std::make_unique<proxy_process>(dir, shop->url(), proxy_yaml);
    }
    const auto applied = cli({"plan", "apply", plan_file, "--stage", "reads", "--reason", "reads moved earlier"});
    INFO(applied.out << applied.err);
    REQUIRE(applied.code == 0);
  }

  run_result cli(std::vector<std::string> args) {
    std::vector<std::string> a{"--admin", fleet.empty() ? "http://127.0.0.1:" + std::to_string(proxy->admin_port)
                                                        : fleet.front()->admin_url(),
                               "--token-file", fleet.empty() ? dir.file("state/admin.token") : fleet_token_file};
    a.insert(a.end(), args.begin(), args.end());
    return run_banyan(a, dir);
  }

  // As `via` (a fleet's instance; by default the one proxy, or the fleet's first) serves it.
  json::object route(const std::string& id, const fleet_proxy* via = nullptr) {
    const auto routes = json::parse(via              ? via->admin("GET", "/api/v1/routes").body
                                    : fleet.empty() ? proxy->admin("GET", "/api/v1/routes").body
                                                    : fleet.front()->admin("GET", "/api/v1/routes").body);
    for (const auto& r : routes.at("routes").as_array())
      if (r.at("id").as_string() == id) return r.as_object();
    FAIL("no route " << id);
    return {};
  }
};

// Clients creating, updating and deleting their own products through the proxy, and reading them,
// until told to stop. Each remembers what it was told succeeded: the products that must exist at
// the end, with their last price, and those that must not.
struct product_clients {
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, failed{0};
  std::mutex mutex;
  std::map<std::int64_t, std::int64_t> price_of;  // live products → last acknowledged price
  std::set<std::int64_t> deleted;
  std::vector<std::int64_t> created;  // every id a create returned, in order
  // Writes that failed on a known product: they may have been applied before the failure (a
  // service killed after its commit, before its answer), so the product may hold one of these
  // prices instead (-1: deleted).
  std::map<std::int64_t, std::set<std::int64_t>> unsure;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;

  product_clients(std::function<std::uint16_t()> port, int count) {
    for (int w = 0; w < count; ++w)
      threads.emplace_back([this, port, w] {
        std::vector<std::int64_t> mine;
        for (int i = 0; !stop; ++i) {
          const auto body = [&](std::int64_t price) {
            return R"({"sku":"CUT-)" + std::to_string(w) + "-" + std::to_string(i) + R"(","name":"Client )" +
                   std::to_string(w) + R"(","description":"","category":"cutover","price_cents":)" +
                   std::to_string(price) + R"(,"currency":"EUR"})";
          };
          http_reply r;
          std::string what;
          if (mine.size() < 3 || i % 5 == 0) {
            what = "create";
            r = http_json(port(), "POST", "/api/products", body(100 + i));
            if (r.status == 201) {
              const auto id = json::parse(r.body).at("id").as_int64();
              mine.push_back(id);
              std::lock_guard lock(mutex);
              created.push_back(id);
              price_of[id] = 100 + i;
            }
          } else if (i % 7 == 0) {
            what = "delete";
            const auto id = mine.front();
            r = http_call(port(), "DELETE", "/api/products/" + std::to_string(id));
            if (r.status == 204) {
              mine.erase(mine.begin());
              std::lock_guard lock(mutex);
              price_of.erase(id);
              deleted.insert(id);
            } else {
              std::lock_guard lock(mutex);
              unsure[id].insert(-1);
            }
          } else if (i % 3 == 0) {
            // A seeded product: one just written may not have reached the side serving reads yet
            // (the sync's poll interval; the sync_lag gate bounds it), which is not what is tested.
            what = "read";
            r = http_call(port(), "GET", "/api/products/" + std::to_string(1 + i % 20));
          } else {
            what = "update";
            const auto id = mine[static_cast<std::size_t>(i) % mine.size()];
            r = http_json(port(), "PUT", "/api/products/" + std::to_string(id), body(1000 + i));
            std::lock_guard lock(mutex);
            if (r.status == 200) price_of[id] = 1000 + i;
            else unsure[id].insert(1000 + i);
          }
          if (r.status >= 200 && r.status < 300) {
            ++acknowledged;
          } else {
            ++failed;
            std::lock_guard lock(mutex);
            failures.push_back(what + ": " + std::to_string(r.status) + " " + r.body);
          }
        }
      });
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }
  ~product_clients() { finish(); }
  // Every failure, a line each (for INFO).
  std::string failure_text() {
    std::lock_guard lock(mutex);
    std::string all;
    for (const auto& f : failures) all += f + "\n";
    return all;
  }
  // Waits until `n` more requests were acknowledged.
  void wait_for(int n) {
    const int until = acknowledged + n;
    REQUIRE(eventually([&] { return acknowledged >= until; }, std::chrono::seconds(20)));
  }
};

// Every product the clients were told exists is on `port` with its last price (or, after a failed
// write, possibly that write's outcome); every one they deleted is gone.
void check_products(std::uint16_t port, product_clients& c, const std::string& side) {
  INFO("on " << side);
  for (const auto& [id, price] : c.price_of) {
    const auto r = http_call(port, "GET", "/api/products/" + std::to_string(id));
    INFO("product " << id);
    const auto it = c.unsure.find(id);
    const auto now = r.status == 404 ? -1 : json::parse(r.body).at("price_cents").as_int64();
    if (now != price && it != c.unsure.end() && it->second.contains(now)) continue;
    REQUIRE(r.status == 200);
    CHECK(now == price);
  }
  for (const auto id : c.deleted) CHECK(http_call(port, "GET", "/api/products/" + std::to_string(id)).status == 404);
}

// Once each side has applied the other's feed: the same catalog on both (`data verify`), every
// acknowledged write on it, and every created id its own (ids from either side never collide).
void check_both_sides(migration_stack& s, product_clients& clients) {
  const auto shop_port = s.shop->port, catalog_port = s.catalog->port;
  REQUIRE(eventually([&] { return applied_all(catalog_port, shop_port) && applied_all(shop_port, catalog_port); }));
  const auto verify = s.cli({"data", "verify", "--from", s.shop->url(), "--to", s.catalog->url(), "--entity", "products"});
  INFO(verify.out << verify.err);
  CHECK(verify.code == 0);
  check_products(shop_port, clients, "legacy-shop");
  check_products(catalog_port, clients, "catalog-service");
  CHECK(std::set<std::int64_t>(clients.created.begin(), clients.created.end()).size() == clients.created.size());
}

// One step of the migration through the CLI, which must succeed saying `expect`; writes go on, to
// whoever owns them now.
void move_writes(migration_stack& s, product_clients& clients, std::vector<std::string> args, const std::string& expect) {
  const auto r = s.cli(std::move(args));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find(expect) != std::string::npos);
  clients.wait_for(150);
}

bool audited(migration_stack& s, const std::string& action, const std::function<bool(const json::object&)>& match) {
  const auto audit = json::parse(s.proxy->admin("GET", "/api/v1/audit?limit=1000").body);
  for (const auto& e : audit.at("entries").as_array())
    if (e.at("action").as_string() == action && match(e.as_object())) return true;
  return false;
}

}  // namespace

TEST_CASE("cut-over: the catalog's writes move to catalog-service and back under load, losing nothing",
          "[cutover][slow]") {
  migration_stack s;
  const auto shop_port = s.shop->port, catalog_port = s.catalog->port;
  product_clients clients([&] { return s.proxy->port; }, 3);
  clients.wait_for(40);

  auto move = [&](std::vector<std::string> args, const std::string& expect) { move_writes(s, clients, std::move(args), expect); };
  move({"plan", "apply", plan_file, "--stage", "writes-shadow"}, "now at stage writes-shadow");
  move({"plan", "apply", plan_file, "--stage", "writes"}, "writes moved: product-create, product-change monolith → catalog");
  CHECK(s.route("product-create").at("mode").as_string() == "service");
  move({"plan", "rollback", "--to", "reads", "--reason", "practice the way back"},
       "writes moved: product-create, product-change catalog → monolith");
  CHECK(s.route("product-create").at("mode").as_string() == "monolith");
  move({"plan", "apply", plan_file, "--stage", "writes"}, "writes moved: product-create, product-change monolith → catalog");
  // Issue 20: moved one route at a time, a client's update of the product it had just created
  // reached the owner that had not applied the create (404). One route alone is refused, naming
  // the command that moves them together; that command moves both through one barrier.
  const auto alone = s.cli({"route", "set", "product-change", "monolith"});
  INFO(alone.out << alone.err);
  CHECK(alone.code == 2);
  CHECK(alone.err.find("'catalog' would have its writes on two owners: product-change to the monolith while "
                       "product-create stays with 'catalog'") != std::string::npos);
  CHECK(alone.err.find("move them in one change: banyan route set product-change product-create monolith") !=
        std::string::npos);
  CHECK(s.route("product-change").at("mode").as_string() == "service");
  move({"route", "set", "product-create", "product-change", "monolith", "--reason", "both back"},
       "writes moved: product-create, product-change catalog → monolith");
  move({"route", "set", "product-create", "product-change", "service", "--reason", "both forward"},
       "writes moved: product-create, product-change monolith → catalog");
  CHECK(audited(s, "route.mode", [](const json::object& e) {
    return e.at("target").as_string() == "product-create,product-change" && e.at("reason").as_string() == "both forward";
  }));
  clients.finish();

  INFO(clients.failure_text());
  CHECK(clients.failed == 0);
  CHECK(clients.acknowledged > 200);

  check_both_sides(s, clients);
  // Nothing applied twice: each side applied exactly the other's events, no more.
  for (const auto port : {shop_port, catalog_port}) {
    const auto st = sync_of(port);
    CHECK(st.at("lag_events").as_int64() == 0);
  }

  // The monolith's orders price from the service's edits.
  const auto edit = http_json(s.proxy->port, "PUT", "/api/products/3",
                              R"({"sku":"KIT-1003","name":"Edited in the service","description":"","category":"kitchen",)"
                              R"("price_cents":4321,"currency":"EUR"})");
  REQUIRE(edit.status == 200);
  REQUIRE(eventually([&] { return applied_all(shop_port, catalog_port); }));
  const auto customer = http_json(s.proxy->port, "POST", "/api/customers", R"({"email":"cut@example.com","name":"Cut"})");
  REQUIRE(customer.status == 201);
  const auto order = http_json(s.proxy->port, "POST", "/api/orders",
                               R"({"customer_id":)" + std::to_string(json::parse(customer.body).at("id").as_int64()) +
                                   R"(,"items":[{"product_id":3,"quantity":1}]})");
  INFO(order.body);
  REQUIRE(order.status == 201);
  CHECK(json::parse(order.body).at("lines").at(0).at("unit_price_cents").as_int64() == 4321);

  // Every step audited, with how the writes moved.
  auto switched = [](const json::object& e) {
    const auto& after = e.at("after").as_object();
    return after.contains("cutover") && after.at("cutover").at("switched").as_bool();
  };
  CHECK(audited(s, "plan.apply", switched));
  CHECK(audited(s, "plan.rollback", switched));
  const auto routes = s.cli({"routes"});
  CHECK(routes.out.find("writes owned by catalog: product-create, product-change (its change feed syncs back to the "
                        "monolith)") != std::string::npos);
  CHECK(routes.out.find("last write cut-over") != std::string::npos);
  const auto metrics = http_call(s.proxy->admin_port, "GET", "/metrics").body;
  CHECK(metrics.find("banyan_cutovers_total{outcome=\"switched\"} 5") != std::string::npos);
}

TEST_CASE("cut-over across a fleet: three proxies on etcd move the catalog's writes forward, back and forward "
          "under writes through all three, losing nothing", "[cutover][slow]") {
  migration_stack s("cutover: {hold_limit: 3s}\n", 3);
  std::atomic<unsigned> next{0};
  product_clients clients([&] { return s.fleet[next++ % 3]->port; }, 3);
  clients.wait_for(40);
  auto move = [&](std::vector<std::string> args, const std::string& expect) { move_writes(s, clients, std::move(args), expect); };
  move({"plan", "apply", plan_file, "--stage", "writes-shadow"}, "now at stage writes-shadow");
  move({"plan", "apply", plan_file, "--stage", "writes"}, "writes moved: product-create, product-change monolith → catalog");
  move({"plan", "rollback", "--to", "reads", "--reason", "practice the way back"},
       "writes moved: product-create, product-change catalog → monolith");
  move({"plan", "apply", plan_file, "--stage", "writes"}, "writes moved: product-create, product-change monolith → catalog");
  clients.finish();
  INFO(clients.failure_text());
  CHECK(clients.failed == 0);
  CHECK(clients.acknowledged > 200);
  check_both_sides(s, clients);
  // Every instance serves the writes' last owner.
  for (const auto& p : s.fleet) CHECK(s.route("product-create", p.get()).at("mode").as_string() == "service");
}

TEST_CASE("cut-over: a barrier that cannot catch up changes nothing, says why and exits 1", "[cutover]") {
  // Reads the hung service holds fall back to the monolith after half a second.
  migration_stack s("cutover: {hold_limit: 1s}\ntimeouts: {upstream: 500ms}\n");
  REQUIRE(s.cli({"plan", "apply", plan_file, "--stage", "writes-shadow"}).code == 0);
  product_clients clients([&] { return s.proxy->port; }, 2);
  clients.wait_for(20);
  // The service hangs: its sync status never comes.
  s.catalog->proc.signal(SIGSTOP);
  const auto r = s.cli({"plan", "apply", plan_file, "--stage", "writes"});
  s.catalog->proc.signal(SIGCONT);
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("refused: the write cut-over gave up, the routing is unchanged: no cut-over within 1000 ms") !=
        std::string::npos);
  CHECK(r.err.find("writes not moved: product-create, product-change monolith → catalog") != std::string::npos);
  clients.wait_for(20);
  clients.finish();
  CHECK(clients.failed == 0);  // the held writes went to the monolith, late but served
  // The routing is as it was, and the attempt is in the audit log with its reason.
  CHECK(s.route("product-create").at("mode").as_string() == "shadow");
  CHECK(json::parse(s.proxy->admin("GET", "/api/v1/plan").body).at("stage").as_string() == "writes-shadow");
  CHECK(audited(s, "cutover.failed", [](const json::object& e) {
    return e.at("reason").as_string().starts_with("no cut-over within 1000 ms") &&
           e.at("target").as_string() == "plan.apply extract-catalog@writes";
  }));
  const auto status = s.cli({"plan", "status"});
  CHECK(status.out.find("gave up: no cut-over within 1000 ms") != std::string::npos);
  CHECK(status.out.find("writes owned by the monolith: product-create, product-change") != std::string::npos);
  // Nothing the clients wrote is missing on the service once it runs again.
  REQUIRE(eventually([&] { return applied_all(s.catalog->port, s.shop->port); }, std::chrono::seconds(20)));
  check_products(s.catalog->port, clients, "catalog-service");
}

TEST_CASE("cut-over: kill -9 of the proxy inside the barrier leaves one owner and no wrong write", "[cutover]") {
  migration_stack s("cutover: {hold_limit: 8s}\n");
  REQUIRE(s.cli({"plan", "apply", plan_file, "--stage", "writes-shadow"}).code == 0);
  s.catalog->proc.signal(SIGSTOP);  // the barrier waits for it: long enough to be killed inside
  std::thread advance([&] { s.cli({"plan", "apply", plan_file, "--stage", "writes"}); });
  REQUIRE(eventually([&] {
    return json::parse(s.proxy->admin("GET", "/api/v1/cutover").body).at("active").as_bool();
  }));
  // A write arrives while writes are held, and waits.
  http_reply held;
  std::thread writer([&] {
    try {
      held = http_json(s.proxy->port, "POST", "/api/products",
                       R"({"sku":"HELD-1","name":"Held","description":"","category":"heldtest","price_cents":1,"currency":"EUR"})");
    } catch (const std::runtime_error&) {  // no answer: the proxy died holding it
    }
  });
  REQUIRE(eventually([&] {
    return http_call(s.proxy->admin_port, "GET", "/metrics").body.find("banyan_writes_held_total{route=\"product-create\"} 1") !=
           std::string::npos;
  }));
  s.proxy->proc->signal(SIGKILL);
  s.proxy->proc->wait(std::chrono::seconds(10));
  writer.join();
  advance.join();
  CHECK(held.status != 201);  // no answer: the connection closed, and nothing was written anywhere
  s.catalog->proc.signal(SIGCONT);

  // Restarted, it routes as the last saved change says: the monolith still owns the writes.
  s.proxy->start();
  CHECK(s.route("product-create").at("mode").as_string() == "shadow");
  CHECK(json::parse(s.proxy->admin("GET", "/api/v1/plan").body).at("stage").as_string() == "writes-shadow");
  REQUIRE(eventually([&] { return applied_all(s.catalog->port, s.shop->port); }, std::chrono::seconds(20)));
  for (const auto port : {s.shop->port, s.catalog->port})
    CHECK(json::parse(http_call(port, "GET", "/api/products?category=heldtest").body).at("total").as_int64() == 0);
  // And the cut-over, tried again, goes through.
  const auto again = s.cli({"plan", "apply", plan_file, "--stage", "writes"});
  INFO(again.out << again.err);
  CHECK(again.code == 0);
  const auto made = http_json(s.proxy->port, "POST", "/api/products",
                              R"({"sku":"AFTER-1","name":"After","description":"","category":"x","price_cents":1,"currency":"EUR"})");
  REQUIRE(made.status == 201);
  const auto id = std::to_string(json::parse(made.body).at("id").as_int64());
  CHECK(http_call(s.catalog->port, "GET", "/api/products/" + id).status == 200);  // the service took it
  REQUIRE(eventually([&] { return http_call(s.shop->port, "GET", "/api/products/" + id).status == 200; }));
}

TEST_CASE("cut-over: kill -9 of catalog-service while it owns the writes loses and repeats none", "[cutover]") {
  migration_stack s("cutover: {hold_limit: 3s}\ntimeouts: {upstream: 500ms}\n");
  const auto shop_port = s.shop->port, catalog_port = s.catalog->port;
  REQUIRE(s.cli({"plan", "apply", plan_file, "--stage", "writes"}).code == 0);
  product_clients clients([&] { return s.proxy->port; }, 3);
  clients.wait_for(150);
  s.catalog->kill();  // mid-write, as a crash would
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  s.catalog = std::make_unique<catalog_process>(s.dir.file("catalog.db"), s.dir.file("catalog2.log"), s.shop->url(),
                                                std::vector<std::string>{}, catalog_port);
  clients.wait_for(150);
  clients.finish();
  // Writes while it was down were refused (writes never fall back to another owner); every one that
  // was acknowledged is on both sides, once; the one each client had in flight at the kill is on
  // both sides or on neither.
  CHECK(clients.failed > 0);  // the crash was felt
  check_both_sides(s, clients);
  // The monolith applied each of the service's events exactly once (counted in the transactions
  // that applied them), across the crash.
  const auto back = sync_of(shop_port);
  INFO(json::serialize(back));
  CHECK(back.at("events_applied").as_int64() + back.at("events_ignored").as_int64() == back.at("applied").as_int64());
  CHECK(back.at("applied").as_int64() == head_of(catalog_port));
}
