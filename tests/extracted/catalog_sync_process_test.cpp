// catalog-service as users run it: legacy-shop as the source, the real binaries on port 0, writes
// going on while the service backfills and follows, crashes (kill -9) in the middle, the monolith
// away for a while, and `banyan data verify` as the judge.
#include "app/shop_app.hpp"
#include "modules/catalog/catalog.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include "banyan/platform/sqlite.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

using namespace banyan::test;
namespace json = boost::json;

namespace {

// A monolith database with `n` products (and their product.created events), made in-process: far
// quicker than n HTTP requests.
void make_catalog(const std::string& path, int n) {
  banyan::sqlite::connection c(path);
  shop::migrate_all(c);
  banyan::sqlite::transaction tx(c);
  for (int i = 1; i <= n; ++i) {
    shop::catalog::product_input in;
    in.sku = "SKU-" + std::to_string(100000 + i);
    in.name = "Product " + std::to_string(i);
    in.description = "Item number " + std::to_string(i) + " of the test catalog.";
    in.category = "cat-" + std::to_string(i % 12);
    in.price_cents = 100 + i;
    in.currency = "EUR";
    shop::catalog::create(c, in);
  }
  tx.commit();
}

json::object sync_status(std::uint16_t port) {
  auto r = http_call(port, "GET", "/internal/sync");
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

std::int64_t feed_head(std::uint16_t monolith_port) {
  auto r = http_call(monolith_port, "GET", "/internal/events?after=0&limit=1");
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("head").as_int64();
}

// Following, with every event the monolith has applied.
bool caught_up(std::uint16_t service_port, std::uint16_t monolith_port) {
  const auto s = sync_status(service_port);
  return s.at("state").as_string() == "following" && s.at("applied").as_int64() == feed_head(monolith_port);
}

// Every feed event after the backfill position was applied or ignored exactly once: the counts the
// service keeps in the same transactions as its changes add up to the events it passed.
void check_exactly_once(std::uint16_t service_port) {
  const auto s = sync_status(service_port);
  INFO(json::serialize(s));
  CHECK(s.at("events_applied").as_int64() + s.at("events_ignored").as_int64() ==
        s.at("applied").as_int64() - s.at("backfill").at("position").as_int64());
}

// Writers against the monolith's catalog: updates, creations and deletions, until told to stop.
struct writers {
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, failed{0};
  std::vector<std::thread> threads;
  writers(std::uint16_t port, int count, int max_id) {
    for (int w = 0; w < count; ++w)
      threads.emplace_back([this, port, w, max_id] {
        std::mt19937 rng(static_cast<unsigned>(w) * 7919u + 1);
        for (int i = 0; !stop; ++i) {
          const int id = static_cast<int>(rng() % static_cast<unsigned>(max_id)) + 1;
          const std::string body = R"({"sku":"W)" + std::to_string(w) + "-" + std::to_string(i) +
                                   R"(","name":"Written )" + std::to_string(i) +
                                   R"(","description":"","category":"written","price_cents":)" + std::to_string(i) +
                                   R"(,"currency":"EUR"})";
          http_reply r;
          switch (i % 4) {
            case 0: r = http_json(port, "POST", "/api/products", body); break;
            case 3: r = http_call(port, "DELETE", "/api/products/" + std::to_string(id)); break;
            default: r = http_json(port, "PUT", "/api/products/" + std::to_string(id), body); break;
          }
          if (r.status == 200 || r.status == 201 || r.status == 204 || r.status == 404) ++acknowledged;
          else ++failed;
        }
      });
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }
  ~writers() { finish(); }
};

// Someone prunes the outbox: of two new events, the first (the one a follower needs next) is gone.
void make_feed_gap(const std::string& shop_db) {
  banyan::sqlite::connection c(shop_db);
  c.exec("BEGIN IMMEDIATE");
  for (int i = 0; i < 2; ++i)
    c.exec("INSERT INTO outbox_events(type, aggregate, key, payload, at) VALUES ('product.updated', 'product', '6', '{}', 'x')");
  c.exec("DELETE FROM outbox_events WHERE id = (SELECT MAX(id) - 1 FROM outbox_events)");
  c.exec("COMMIT");
}

run_result verify(const temp_dir& dir, std::uint16_t monolith, std::uint16_t service) {
  return run_banyan({"data", "verify", "--from", "http://127.0.0.1:" + std::to_string(monolith), "--to",
                     "http://127.0.0.1:" + std::to_string(service), "--entity", "products"},
                    dir);
}

}  // namespace

TEST_CASE("catalog sync: a backfill of 10,000 products under concurrent writes ends equal", "[catalog][sync][slow]") {
  temp_dir dir;
  make_catalog(dir.file("shop.db"), 10'000);
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), false);
  writers w(shop.port, 2, 10'000);
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url(), {"--page-limit", "200"});
  // Not ready while it copies.
  bool saw_backfilling = false;
  REQUIRE(eventually(
      [&] {
        const auto s = sync_status(svc.port);
        if (s.at("state").as_string() == "backfilling") {
          saw_backfilling = true;
          CHECK(http_call(svc.port, "GET", "/readyz").status == 503);
        }
        return s.at("state").as_string() == "following";
      },
      std::chrono::seconds(60)));
  CHECK(saw_backfilling);
  w.finish();
  CHECK(w.failed == 0);
  CHECK(w.acknowledged > 0);
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }, std::chrono::seconds(30)));
  const auto s = sync_status(svc.port);
  CHECK(s.at("backfill").at("rows_done").as_int64() >= 10'000);
  CHECK(s.at("lag_events").as_int64() == 0);
  CHECK(http_call(svc.port, "GET", "/readyz").status == 200);
  check_exactly_once(svc.port);
  const auto v = verify(dir, shop.port, svc.port);
  INFO(v.out << v.err);
  CHECK(v.code == 0);
  CHECK(v.out.find("verify: products agree") != std::string::npos);
  // Progress was visible in the metrics too.
  const auto metrics = http_call(svc.port, "GET", "/metrics").body;
  CHECK(metrics.find("banyan_sync_backfill_rows_done{") != std::string::npos);
  CHECK(metrics.find("banyan_sync_lag_events{") != std::string::npos);
}

TEST_CASE("catalog sync: four concurrent writers, followed to lag 0 and verified", "[catalog][sync]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url());
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }));
  {
    writers w(shop.port, 4, 240);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    w.finish();
    CHECK(w.failed == 0);
    CHECK(w.acknowledged > 40);
  }
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }));
  check_exactly_once(svc.port);
  const auto v = verify(dir, shop.port, svc.port);
  INFO(v.out << v.err);
  CHECK(v.code == 0);
  // The feed carries other modules' events too (stock, orders); they are counted, not lost.
  CHECK(sync_status(svc.port).at("events_ignored").as_int64() >= 0);
}

TEST_CASE("catalog sync: kill -9 mid-backfill and mid-sync loses and repeats nothing", "[catalog][sync][slow]") {
  temp_dir dir;
  make_catalog(dir.file("shop.db"), 10'000);
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), false);
  writers w(shop.port, 2, 10'000);
  {
    catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url(), {"--page-limit", "50"});
    REQUIRE(eventually([&] { return sync_status(svc.port).at("backfill").at("rows_done").as_int64() > 500; },
                       std::chrono::seconds(30)));
    CHECK(sync_status(svc.port).at("state").as_string() == "backfilling");
    svc.kill();
  }
  std::int64_t resumed_at = 0;
  {
    catalog_process svc(dir.file("catalog.db"), dir.file("catalog2.log"), shop.url(), {"--page-limit", "50"});
    resumed_at = sync_status(svc.port).at("backfill").at("rows_done").as_int64();
    CHECK(resumed_at > 500);  // resumed, not restarted
    REQUIRE(eventually([&] { return sync_status(svc.port).at("state").as_string() == "following"; },
                       std::chrono::seconds(60)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // following, writes still coming
    svc.kill();
  }
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog3.log"), shop.url());
  w.finish();
  CHECK(w.failed == 0);
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }, std::chrono::seconds(30)));
  check_exactly_once(svc.port);
  const auto v = verify(dir, shop.port, svc.port);
  INFO(v.out << v.err);
  CHECK(v.code == 0);
}

TEST_CASE("catalog sync: the monolith away for a while, then back, the sync resumes", "[catalog][sync]") {
  temp_dir dir;
  auto shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop.log"), true);
  const auto port = shop->port;
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop->url());
  REQUIRE(eventually([&] { return caught_up(svc.port, port); }));
  CHECK(shop->stop() == 0);
  shop.reset();
  REQUIRE(eventually([&] { return !sync_status(svc.port).at("source_reachable").as_bool(); }));
  const auto away = sync_status(svc.port);
  CHECK(away.at("state").as_string() == "following");  // nothing is lost: the state stays
  CHECK(away.at("why").as_string().find("cannot connect") != std::string::npos);
  auto ready = http_call(svc.port, "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("the source does not answer") != std::string::npos);
  // Reads keep being served from the service's own data.
  CHECK(http_call(svc.port, "GET", "/api/products/7").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop2.log"), false, port);
  REQUIRE(http_json(port, "PUT", "/api/products/7",
                    R"({"sku":"BACK-7","name":"Back","description":"","category":"x","price_cents":7,"currency":"EUR"})")
              .status == 200);
  REQUIRE(eventually([&] { return caught_up(svc.port, port); }, std::chrono::seconds(15)));
  CHECK(sync_status(svc.port).at("source_reachable").as_bool());
  CHECK(json::parse(http_call(svc.port, "GET", "/api/products/7").body).at("sku").as_string() == "BACK-7");
  CHECK(http_call(svc.port, "GET", "/readyz").status == 200);
  CHECK(verify(dir, port, svc.port).code == 0);
}

TEST_CASE("data verify: a row changed behind the sync's back is caught and named", "[catalog][verify]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url());
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }));
  {
    banyan::sqlite::connection c(dir.file("catalog.db"));
    c.exec("UPDATE products SET price_cents = price_cents + 1 WHERE id = 42");
    c.exec("DELETE FROM products WHERE id = 43");
  }
  auto v = verify(dir, shop.port, svc.port);
  INFO(v.out << v.err);
  CHECK(v.code == 1);
  CHECK(v.out.find("id 42: price_cents ") != std::string::npos);
  CHECK(v.out.find("id 43: missing on --to") != std::string::npos);
  CHECK(v.out.find("verify: products differ") != std::string::npos);
  auto j = run_banyan({"data", "verify", "--from", shop.url(), "--to", svc.url(), "--entity", "products", "--output", "json"}, dir);
  CHECK(j.code == 1);
  const auto doc = json::parse(j.out);
  CHECK(doc.at("differ").as_int64() == 1);
  CHECK(doc.at("missing_on_to").as_int64() == 1);
  CHECK(doc.at("rows").at(0).at("fields").at(0).at("field").as_string() == "price_cents");
  // Both sides serve key-range checksums: only the range holding 42 and 43 was read row by row.
  CHECK(doc.at("method").as_string() == "ranges");
  CHECK(doc.at("ranges").at("differing").as_int64() == 1);
  CHECK(doc.at("equal_rows").as_int64() == doc.at("from").at("rows").as_int64() - 2);
  // Every row of both listings read instead: the same judgement.
  auto listed = run_banyan({"data", "verify", "--from", shop.url(), "--to", svc.url(), "--entity", "products",
                            "--method", "listing", "--output", "json"}, dir);
  CHECK(listed.code == 1);
  const auto by_listing = json::parse(listed.out);
  CHECK(by_listing.at("method").as_string() == "listing");
  for (const char* k : {"differ", "missing_on_to", "missing_on_from", "equal_rows"}) CHECK(by_listing.at(k) == doc.at(k));
  CHECK(by_listing.at("rows") == doc.at("rows"));
  // A row only the service has, past the monolith's last: found in the last range, which is open-ended.
  {
    banyan::sqlite::connection c(dir.file("catalog.db"));
    c.exec("INSERT INTO products(id, sku, name, description, category_id, price_cents, currency, updated_at)"
           " SELECT 100000, 'ONLY-HERE', name, description, category_id, price_cents, currency, updated_at FROM products"
           " WHERE id = 44");
  }
  auto extra = run_banyan({"data", "verify", "--from", shop.url(), "--to", svc.url(), "--entity", "products", "--output", "json"}, dir);
  CHECK(json::parse(extra.out).at("missing_on_from").as_int64() == 1);
  CHECK(json::parse(extra.out).at("method").as_string() == "ranges");
  // --method ranges against sides that do not serve them is bad input, with the way out.
  auto unserved = run_banyan({"data", "verify", "--from", shop.url(), "--to", svc.url(), "--entity", "customers",
                              "--method", "ranges"}, dir);
  CHECK(unserved.code == 2);
  CHECK(unserved.err.find("--method listing") != std::string::npos);
  // Ignoring the field makes row 42 agree; 43 is still missing.
  auto ignoring = run_banyan({"data", "verify", "--from", shop.url(), "--to", svc.url(), "--entity", "products",
                              "--ignore", "price_cents,updated_at", "--output", "json"},
                             dir);
  CHECK(json::parse(ignoring.out).at("differ").as_int64() == 0);
  // Bad input and an unreachable side have their own exit codes.
  CHECK(run_banyan({"data", "verify", "--from", "ftp://x", "--to", svc.url(), "--entity", "products"}, dir).code == 2);
  CHECK(run_banyan({"data", "verify", "--from", shop.url(), "--to", svc.url(), "--entity", "products", "--path", "/healthz",
                    "--method", "listing"}, dir).code == 2);
  CHECK(run_banyan({"data", "verify", "--from", shop.url(), "--to", "http://127.0.0.1:1", "--entity", "products"}, dir).code == 3);
}

TEST_CASE("catalog sync: a feed the service cannot follow stops the sync and says why", "[catalog][sync]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url());
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }));
  make_feed_gap(dir.file("shop.db"));
  REQUIRE(eventually([&] { return sync_status(svc.port).at("state").as_string() == "stopped"; }));
  const auto s = sync_status(svc.port);
  CHECK(s.at("why").as_string().find("feed gap: expected event ") != std::string::npos);
  CHECK(http_call(svc.port, "GET", "/readyz").status == 503);
  CHECK(http_call(svc.port, "GET", "/metrics").body.find("banyan_sync_stopped{") != std::string::npos);
}

TEST_CASE("catalog reads shadowed through banyan-proxy reach 100 % parity on seeded data plus edits", "[catalog][shadow]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url());
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }));
  proxy_process proxy(dir, shop.url(),
                      "services: {catalog: " + svc.url() + "}\n"
                      "routes:\n"
                      "  - id: product-list\n"
                      "    match: {methods: [GET, HEAD], path: /api/products}\n"
                      "    service: catalog\n"
                      "    mode: shadow\n"
                      "  - id: product-detail\n"
                      "    match: {methods: [GET, HEAD], path: \"/api/products/{id}\"}\n"
                      "    service: catalog\n"
                      "    mode: shadow\n");
  const std::vector<std::string> lists{"/api/products", "/api/products?page=3", "/api/products?category=kitchen",
                                       "/api/products?q=deluxe&page_size=50", "/api/products?page=0"};
  auto browse = [&](int n) {
    for (int i = 0; i < n; ++i) {
      REQUIRE(http_call(proxy.port, "GET", "/api/products/" + std::to_string(i % 250 + 1)).status / 100 != 5);
      REQUIRE(http_call(proxy.port, "GET", lists[static_cast<std::size_t>(i) % lists.size()]).status / 100 != 5);
    }
  };
  json::value rep;
  auto compared = [&](const char* route) -> std::int64_t {
    for (const auto& r : rep.at("routes").as_array())
      if (r.at("route").as_string() == route) return r.at("counts").at("compared").to_number<std::int64_t>();
    return 0;
  };
  auto compared_all = [&](std::int64_t n) {
    return eventually([&] {
      rep = json::parse(proxy.admin("GET", "/api/v1/shadow/report").body);
      return compared("product-detail") == n && compared("product-list") == n;
    });
  };
  browse(60);
  // The copies go out after the clients' answers: an edit made while one is still queued reaches
  // the service first (its sync takes milliseconds) and that copy reads a later product than the
  // monolith's answer did — a real difference of moments, which `compare.version` classes as stale
  // (docs/shadow.md). This test has no version rule: it edits once every copy has been compared.
  REQUIRE(compared_all(60));
  // Edits through the proxy (the monolith owns writes), then reads once the service has them.
  for (int id : {3, 30, 77}) {
    const auto r = http_json(proxy.port, "PUT", "/api/products/" + std::to_string(id),
                             R"({"sku":"EDIT-)" + std::to_string(id) +
                                 R"(","name":"Edited","description":"changed","category":"kitchen","price_cents":4242,"currency":"EUR"})");
    REQUIRE(r.status == 200);
  }
  REQUIRE(http_json(proxy.port, "POST", "/api/products",
                    R"({"sku":"EDIT-NEW","name":"Brand new","description":"","category":"kitchen","price_cents":1,"currency":"EUR"})")
              .status == 201);
  REQUIRE(http_call(proxy.port, "DELETE", "/api/products/31").status == 204);
  REQUIRE(eventually([&] { return caught_up(svc.port, shop.port); }));
  browse(60);
  REQUIRE(compared_all(120));
  for (const auto& r : rep.at("routes").as_array()) {
    INFO(json::serialize(r));
    const auto& parity = r.at("parity");
    // Every comparison matched once legacy-shop's own noise (generated_at) is learned.
    CHECK(parity.at("matched").to_number<std::int64_t>() == r.at("counts").at("compared").to_number<std::int64_t>());
    CHECK(r.at("paths").as_array().empty());
  }
}

TEST_CASE("plan status judges the shipped read plan's sync_lag gate on catalog-service's sync", "[catalog][sync][plan]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop.url());
  proxy_process proxy(dir, shop.url(), "health_checks: {interval: 200ms}\n");
  // The shipped plan, with the service's address from the environment as the plan says.
  ::setenv("CATALOG_URL", svc.url().c_str(), 1);
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> a{"--admin", "http://127.0.0.1:" + std::to_string(proxy.admin_port), "--token-file",
                               dir.file("state/admin.token")};
    a.insert(a.end(), args.begin(), args.end());
    return run_banyan(a, dir);
  };
  const auto applied = cli({"plan", "apply", BANYAN_SOURCE_DIR "/migrations/catalog-reads.yaml", "--reason", "test"});
  ::unsetenv("CATALOG_URL");
  INFO(applied.out << applied.err);
  REQUIRE(applied.code == 0);
  // The proxy's routing names the real address (the stored plan is the expanded one).
  CHECK(proxy.admin("GET", "/api/v1/routes").body.find(svc.url()) != std::string::npos);
  json::value status;
  auto gate = [&](const std::string& route) -> json::object {
    for (const auto& g : status.at("gates").as_array())
      if (g.at("gate").as_string() == "sync_lag" && g.at("route").as_string() == route) return g.as_object();
    return {};
  };
  REQUIRE(eventually([&] {
    const auto r = cli({"--output", "json", "plan", "status"});
    status = json::parse(r.out);
    const auto g = gate("product-detail");
    return !g.empty() && g.at("state").as_string() == "pass";
  }));
  CHECK(gate("product-detail").at("measured").as_string() == "0 events, 0.0 s");
  CHECK(gate("product-list").at("state").as_string() == "pass");
  const auto text = cli({"plan", "status"});
  CHECK(text.out.find("sync_lag") != std::string::npos);

  // The sync stops (a gap): the gate fails, and the plan names it as a breach.
  make_feed_gap(dir.file("shop.db"));
  REQUIRE(eventually([&] {
    status = json::parse(cli({"--output", "json", "plan", "status"}).out);
    const auto g = gate("product-detail");
    return !g.empty() && g.at("state").as_string() == "fail";
  }));
  CHECK(gate("product-detail").at("why").as_string().find("sync stopped: feed gap") != std::string::npos);
}

TEST_CASE("reverse sync: the service's writes flow back into the monolith once, without echo, ids shared",
          "[catalog][sync][reverse]") {
  temp_dir dir;
  auto shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop.log"), true);
  const auto port = shop->port;
  catalog_process svc(dir.file("catalog.db"), dir.file("catalog.log"), shop->url());
  REQUIRE(eventually([&] { return caught_up(svc.port, port); }));
  const auto monolith_head = feed_head(port);
  // The service takes the catalog's writes: legacy-shop now follows the service's feed back.
  CHECK(shop->stop() == 0);
  shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop2.log"), false, port,
                                        std::vector<std::string>{"--follow", svc.url()});
  const auto created = http_json(svc.port, "POST", "/api/products",
                                 R"({"sku":"SVC-1","name":"Made in the service","description":"","category":"home",)"
                                 R"("price_cents":2500,"currency":"EUR"})");
  REQUIRE(created.status == 201);
  const auto new_id = json::parse(created.body).at("id").as_int64();
  REQUIRE(http_json(svc.port, "PUT", "/api/products/7",
                    R"({"sku":"KIT-1007","name":"Kettle","description":"","category":"kitchen","price_cents":12345,"currency":"EUR"})")
              .status == 200);
  const auto gone = http_json(svc.port, "POST", "/api/products",
                              R"({"sku":"SVC-2","name":"Short-lived","description":"","category":"home","price_cents":1,"currency":"EUR"})");
  REQUIRE(gone.status == 201);
  const auto gone_id = json::parse(gone.body).at("id").as_int64();
  REQUIRE(http_call(svc.port, "DELETE", "/api/products/" + std::to_string(gone_id)).status == 204);

  // The monolith applies the service's four events, in order, and says so.
  REQUIRE(eventually([&] {
    const auto s = sync_status(port);
    return s.at("state").as_string() == "following" && s.at("applied").as_int64() == 4;
  }));
  const auto s = sync_status(port);
  CHECK(s.at("events_applied").as_int64() == 4);
  CHECK(s.at("lag_events").as_int64() == 0);
  // The same product, the same id, on both sides.
  const auto there = http_call(port, "GET", "/api/products/" + std::to_string(new_id));
  REQUIRE(there.status == 200);
  CHECK(json::parse(there.body).at("sku").as_string() == "SVC-1");
  CHECK(json::parse(there.body).at("updated_at") == json::parse(created.body).at("updated_at"));
  CHECK(json::parse(http_call(port, "GET", "/api/products/7").body).at("price_cents").as_int64() == 12345);
  CHECK(http_call(port, "GET", "/api/products/" + std::to_string(gone_id)).status == 404);
  // No echo: the monolith published none of it, so the service saw nothing come back.
  CHECK(feed_head(port) == monolith_head);
  CHECK(sync_status(svc.port).at("applied").as_int64() == monolith_head);
  // The monolith's own modules read the service's edits: an order prices product 7 at 123.45.
  const auto order = http_json(port, "POST", "/api/orders", R"({"customer_id":1,"items":[{"product_id":7,"quantity":2}]})");
  REQUIRE(order.status == 201);
  CHECK(json::parse(order.body).at("subtotal_cents").as_int64() == 2 * 12345);
  // Both sides agree row by row.
  CHECK(verify(dir, port, svc.port).code == 0);
  // Writes back at the monolith (a rollback): its next id comes after every id the service used,
  // the deleted one included (AUTOINCREMENT), so none collides.
  const auto back = http_json(port, "POST", "/api/products",
                              R"({"sku":"MONO-1","name":"Back home","description":"","category":"home","price_cents":9,"currency":"EUR"})");
  REQUIRE(back.status == 201);
  CHECK(json::parse(back.body).at("id").as_int64() > gone_id);
}

TEST_CASE("reverse sync: legacy-shop --follow refuses what is not a service URL", "[catalog][sync][reverse]") {
  temp_dir dir;
  child_process p({binary("legacy-shop"), "--listen", "127.0.0.1:0", "--db", dir.file("shop.db"), "--follow", "notaurl"},
                  dir.file("shop.log"));
  CHECK(p.wait(std::chrono::seconds(10)) == 2);
  std::ifstream log(dir.file("shop.log"));
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("legacy-shop: --follow: not a URL: 'notaurl'") != std::string::npos);
}
