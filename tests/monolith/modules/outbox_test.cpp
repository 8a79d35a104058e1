#include "modules/outbox/outbox.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>

using shop::test::shop_fixture;

TEST_CASE("every change is an event in the outbox, in commit order", "[outbox]") {
  shop_fixture shop;
  const auto pid = shop.create_product("EVT-1", 100, 3);
  const auto cid = shop.create_customer("e@example.com");
  auto order = shop.call("POST", "/api/orders",
                         R"({"customer_id":)" + std::to_string(cid) + R"(,"items":[{"product_id":)" +
                             std::to_string(pid) + R"(,"quantity":1}]})");
  REQUIRE(order.status == 201);
  const auto oid = std::to_string(boost::json::parse(order.body).at("id").as_int64());
  REQUIRE(shop.call("POST", "/api/orders/" + oid + "/cancel").status == 200);
  REQUIRE(shop.call("DELETE", "/api/products/" + std::to_string(pid)).status == 204);
  // A refused change writes no event.
  REQUIRE(shop.call("POST", "/api/customers", R"({"email":"e@example.com","name":"dup"})").status == 409);

  auto feed = shop.json("GET", "/internal/events?after=0&limit=100");
  std::vector<std::string> types;
  std::int64_t last_id = 0;
  for (const auto& e : feed.at("events").as_array()) {
    types.emplace_back(e.at("type").as_string());
    CHECK(e.at("id").as_int64() > last_id);
    last_id = e.at("id").as_int64();
  }
  // The shipment is booked in the order's transaction (before the order's own event), and cancelled
  // with it.
  CHECK(types == std::vector<std::string>{"product.created", "stock.changed", "customer.created", "stock.changed",
                                          "shipment.booked", "order.placed", "shipment.cancelled", "stock.changed",
                                          "order.cancelled", "product.deleted"});
  CHECK(feed.at("next").as_int64() == last_id);
  CHECK(feed.at("events").at(5).at("payload").at("id").as_int64() == std::stoll(oid));
  CHECK(feed.at("events").at(5).at("payload").at("status") == "confirmed");
  CHECK(feed.at("events").at(1).at("key").as_string() == "EVT-1");
}

TEST_CASE("the feed pages with after and limit", "[outbox]") {
  shop_fixture shop;
  for (int i = 0; i < 5; ++i) shop.create_customer("p" + std::to_string(i) + "@example.com");
  auto first = shop.json("GET", "/internal/events?limit=2");
  REQUIRE(first.at("events").as_array().size() == 2);
  const auto next = first.at("next").as_int64();
  auto second = shop.json("GET", "/internal/events?after=" + std::to_string(next) + "&limit=10");
  CHECK(second.at("events").as_array().size() == 3);
  CHECK(second.at("events").at(0).at("id").as_int64() == next + 1);
  auto empty = shop.json("GET", "/internal/events?after=1000");
  CHECK(empty.at("events").as_array().empty());
  CHECK(empty.at("next").as_int64() == 1000);
  CHECK(shop.call("GET", "/internal/events?limit=0").status == 400);
  CHECK(shop.call("GET", "/internal/events?after=-1").status == 400);
}

TEST_CASE("a follower at the head waits for the next event (wait=MS), and a bad wait is refused", "[outbox]") {
  shop_fixture shop;
  shop.create_customer("w0@example.com");
  const auto head = shop.json("GET", "/internal/events").at("head").as_int64();
  // Asked before the change commits, answered with it: the request was held, not answered empty.
  auto held = std::async(std::launch::async, [&] {
    return shop.json("GET", "/internal/events?after=" + std::to_string(head) + "&wait=20000");
  });
  // Without the wait the answer (empty) comes before this change.
  REQUIRE(held.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  shop.create_customer("w1@example.com");
  REQUIRE(held.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const auto page = held.get();
  REQUIRE(page.at("events").as_array().size() == 1);
  CHECK(page.at("events").at(0).at("type") == "customer.created");
  CHECK(page.at("head").as_int64() == head + 1);
  // A short wait with nothing new ends empty.
  CHECK(shop.json("GET", "/internal/events?after=" + std::to_string(head + 1) + "&wait=10").at("events").as_array().empty());
  CHECK(shop.call("GET", "/internal/events?wait=30001").status == 400);
  CHECK(shop.call("GET", "/internal/events?wait=soon").status == 400);
}
