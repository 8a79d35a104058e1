// legacy-shop as users run it: the real binary on port 0 with a temporary database.
#include "banyan/platform/sqlite.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

using namespace banyan::test;

namespace {

boost::json::value parse(const http_reply& r) { return boost::json::parse(r.body); }

std::string order_json(std::int64_t customer, std::int64_t product, int quantity) {
  return R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" + std::to_string(product) +
         R"(,"quantity":)" + std::to_string(quantity) + "}]}";
}

}  // namespace

TEST_CASE("legacy-shop --seed answers the whole API with the documented statuses", "[legacy-shop]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
  const auto port = shop.port;

  auto health = http_call(port, "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(parse(health).at("status").as_string() == "ok");

  auto list = http_call(port, "GET", "/api/products?category=kitchen&page=2&page_size=10");
  REQUIRE(list.status == 200);
  auto page = parse(list);
  CHECK(page.at("total").as_int64() == 30);
  CHECK(page.at("items").as_array().size() == 10);
  CHECK(page.at("page").as_int64() == 2);
  CHECK(page.as_object().contains("generated_at"));
  CHECK(page.at("request_id").as_string() == *list.header("X-Request-Id"));

  auto product = http_call(port, "GET", "/api/products/1");
  REQUIRE(product.status == 200);
  const std::string sku(parse(product).at("sku").as_string());
  for (const char* field : {"id", "sku", "name", "description", "category", "price_cents", "currency", "updated_at"})
    CHECK(parse(product).as_object().contains(field));

  auto created = http_json(port, "POST", "/api/products",
                           R"({"sku":"NEW-1","name":"New","description":"","category":"misc","price_cents":100,"currency":"EUR"})");
  CHECK(created.status == 201);
  const auto new_id = std::to_string(parse(created).at("id").as_int64());
  CHECK(http_json(port, "PUT", "/api/products/" + new_id,
                  R"({"sku":"NEW-1","name":"Newer","description":"","category":"misc","price_cents":200,"currency":"EUR"})")
            .status == 200);
  CHECK(http_call(port, "DELETE", "/api/products/" + new_id).status == 204);

  auto customer = http_json(port, "POST", "/api/customers", R"({"email":"it@example.com","name":"Integration"})");
  REQUIRE(customer.status == 201);
  const auto cid = parse(customer).at("id").as_int64();
  CHECK(http_call(port, "GET", "/api/customers/" + std::to_string(cid)).status == 200);

  REQUIRE(http_json(port, "PUT", "/api/inventory/" + sku, R"({"on_hand":50})").status == 200);
  auto stock = parse(http_call(port, "GET", "/api/inventory/" + sku));
  const auto reserved_before = stock.at("reserved").as_int64();

  auto order = http_json(port, "POST", "/api/orders", order_json(cid, 1, 2));
  REQUIRE(order.status == 201);
  const auto oid = std::to_string(parse(order).at("id").as_int64());
  CHECK(parse(http_call(port, "GET", "/api/inventory/" + sku)).at("reserved").as_int64() == reserved_before + 2);
  CHECK(http_call(port, "GET", "/api/orders/" + oid).status == 200);
  CHECK(parse(http_call(port, "GET", "/api/customers/" + std::to_string(cid) + "/orders")).at("items").as_array().size() == 1);
  CHECK(http_call(port, "POST", "/api/orders/" + oid + "/cancel").status == 200);

  // Error statuses, each with the JSON error shape.
  struct expectation {
    http_reply reply;
    int status;
  };
  const std::vector<expectation> errors{
      {http_call(port, "GET", "/api/products/999999"), 404},
      {http_call(port, "GET", "/nowhere"), 404},
      {http_call(port, "PATCH", "/api/products/1", "{}"), 405},
      {http_call(port, "POST", "/api/products", "{\"sku\":", {{"Content-Type", "application/json"}}), 400},
      {http_call(port, "POST", "/api/products", "sku=x", {{"Content-Type", "application/x-www-form-urlencoded"}}), 415},
      {http_json(port, "POST", "/api/products", R"({"sku":"x"})"), 422},
      {http_json(port, "POST", "/api/orders", order_json(cid, 1, 1000)), 409},
      {http_json(port, "POST", "/api/customers", R"({"email":"it@example.com","name":"Again"})"), 409},
      {http_call(port, "POST", "/api/orders/" + oid + "/cancel"), 409},
  };
  for (const auto& e : errors) {
    INFO(e.reply.body);
    CHECK(e.reply.status == e.status);
    CHECK(parse(e.reply).at("error").as_object().contains("code"));
  }
  CHECK(*errors[2].reply.header("Allow") == "GET, HEAD, PUT, DELETE");

  // 411 and 413 at the HTTP layer.
  {
    http_connection c(port);
    c.send_raw("POST /api/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n");
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 411);
  }
  {
    http_connection c(port);
    c.send_raw("POST /api/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n");
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 413);
  }

  auto metrics = http_call(port, "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("http_requests_total{method=\"POST\",route=\"/api/orders\",status=\"201\"} 1") !=
        std::string::npos);

  auto events = parse(http_call(port, "GET", "/internal/events?after=0&limit=1000"));
  CHECK(events.at("events").as_array().size() > 500);  // the seed itself went through the outbox
  CHECK(shop.stop() == 0);
}

TEST_CASE("legacy-shop keeps its data across a restart and drains on SIGTERM", "[legacy-shop]") {
  temp_dir dir;
  std::string oid;
  {
    shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true);
    auto order = http_json(shop.port, "POST", "/api/orders", order_json(1, 2, 1));
    REQUIRE(order.status == 201);
    oid = std::to_string(parse(order).at("id").as_int64());
    CHECK(shop.stop() == 0);
  }
  shop_process again(dir.file("shop.db"), dir.file("shop.log"), true);  // --seed again is a no-op
  CHECK(parse(http_call(again.port, "GET", "/api/products")).at("total").as_int64() == 240);
  auto order = http_call(again.port, "GET", "/api/orders/" + oid);
  CHECK(order.status == 200);
  CHECK(parse(order).at("lines").at(0).at("product_id").as_int64() == 2);
  CHECK(again.stop() == 0);
}

TEST_CASE("kill -9 under load: acknowledged orders survive, none is half-written", "[legacy-shop]") {
  temp_dir dir;
  const std::string db = dir.file("shop.db");
  std::set<std::int64_t> acknowledged;
  {
    shop_process shop(db, dir.file("shop.log"), true);
    for (int p = 1; p <= 20; ++p) {
      auto sku = parse(http_call(shop.port, "GET", "/api/products/" + std::to_string(p))).at("sku");
      REQUIRE(http_json(shop.port, "PUT", "/api/inventory/" + std::string(sku.as_string()), R"({"on_hand":100000})")
                  .status == 200);
    }
    std::mutex m;
    std::atomic<bool> go{true};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&, t] {
        try {
          http_connection c(shop.port);
          for (int i = 0; go; ++i) {
            auto r = c.request("POST", "/api/orders", order_json(1 + (i + t) % 60, 1 + (i * 7 + t) % 20, 1 + i % 3),
                               {{"Content-Type", "application/json"}});
            if (r.status == 201) {
              std::lock_guard lock(m);
              acknowledged.insert(parse(r).at("id").as_int64());
            }
          }
        } catch (const std::exception&) {
          // The server died mid-request: expected.
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    shop.proc.signal(SIGKILL);
    go = false;
    for (auto& c : clients) c.join();
    CHECK(shop.proc.wait(std::chrono::seconds(5)) == 128 + SIGKILL);
  }
  REQUIRE(acknowledged.size() > 10);

  // Restarting recovers the WAL; then the books must balance.
  shop_process shop(db, dir.file("shop.log"), false);
  for (auto id : acknowledged) CHECK(http_call(shop.port, "GET", "/api/orders/" + std::to_string(id)).status == 200);
  banyan::sqlite::connection c(db);
  auto scalar = [&](const char* sql) {
    auto st = c.prepare(sql);
    st.step();
    return st.get_int64(0);
  };
  CHECK(scalar("SELECT COUNT(*) FROM orders_orders o WHERE NOT EXISTS "
               "(SELECT 1 FROM orders_lines l WHERE l.order_id = o.id)") == 0);
  CHECK(scalar("SELECT COUNT(*) FROM orders_orders o WHERE o.status = 'placed' AND NOT EXISTS "
               "(SELECT 1 FROM inventory_reservations r WHERE r.order_id = o.id)") == 0);
  CHECK(scalar("SELECT COUNT(*) FROM inventory_stock s WHERE s.reserved != "
               "(SELECT COALESCE(SUM(quantity), 0) FROM inventory_reservations r WHERE r.sku = s.sku)") == 0);
  CHECK(scalar("SELECT COUNT(*) FROM orders_orders") ==
        scalar("SELECT COUNT(*) FROM outbox_events WHERE type = 'order.placed'"));
  CHECK(scalar("SELECT MAX(id) FROM orders_orders") >= *acknowledged.rbegin());
  CHECK(shop.stop() == 0);
}

// Once shipping's writes are the service's (the barrier's fence), an order waits for its booking;
// with no shipping service answering, legacy-shop's sweeper cancels it at the booking timeout and
// releases its stock — and says so at /internal/sagas.
TEST_CASE("legacy-shop: an order whose booking never comes is cancelled at --booking-timeout, its stock released",
          "[legacy-shop][saga]") {
  temp_dir dir;
  shop_process shop(dir.file("shop.db"), dir.file("shop.log"), true, 0, {"--booking-timeout", "300ms"});
  REQUIRE(http_json(shop.port, "PUT", "/internal/fence", R"({"since":0,"owner":"shipping"})").status == 200);
  const auto before = parse(http_call(shop.port, "GET", "/api/inventory/KIT-1001")).at("reserved").as_int64();
  const auto product = parse(http_call(shop.port, "GET", "/api/products?category=kitchen&page_size=1"))
                           .at("items").at(0).at("id").as_int64();
  const auto placed = http_json(shop.port, "POST", "/api/orders", order_json(1, product, 1));
  INFO(placed.body);
  REQUIRE(placed.status == 201);
  CHECK(parse(placed).at("status") == "placed");
  const auto id = std::to_string(parse(placed).at("id").as_int64());
  REQUIRE(eventually([&] { return parse(http_call(shop.port, "GET", "/api/orders/" + id)).at("status") == "cancelled"; },
                     std::chrono::seconds(5)));
  CHECK(parse(http_call(shop.port, "GET", "/api/orders/" + id)).at("cancel_reason") ==
        "no answer to shipment booking within 300 ms");
  CHECK(parse(http_call(shop.port, "GET", "/api/inventory/KIT-1001")).at("reserved").as_int64() == before);
  const auto sagas = parse(http_call(shop.port, "GET", "/internal/sagas"));
  CHECK(sagas.at("counts").at("compensated") == 1);
  CHECK(sagas.at("counts").at("stuck") == 0);
  // A bad timeout is refused at start.
  const auto bad = run_program({binary("legacy-shop"), "--booking-timeout", "soon"}, dir);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--booking-timeout: expected a duration") != std::string::npos);
}
