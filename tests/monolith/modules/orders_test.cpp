#include "modules/orders/orders.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

using shop::orders::order_line;
using shop::test::shop_fixture;

namespace {
std::string order_body(std::int64_t customer, std::vector<std::pair<std::int64_t, std::int64_t>> items) {
  std::string s = R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[)";
  for (std::size_t i = 0; i < items.size(); ++i)
    s += (i ? "," : "") + std::string(R"({"product_id":)") + std::to_string(items[i].first) + R"(,"quantity":)" +
         std::to_string(items[i].second) + "}";
  return s + "]}";
}
}  // namespace

TEST_CASE("pricing: line totals, subtotal, item count, overflow", "[orders]") {
  std::vector<order_line> lines{{1, "A-1", "a", 1299, 3, 0}, {2, "B-1", "b", 1, 1000, 0}};
  auto t = shop::orders::price_lines(lines);
  REQUIRE(t);
  CHECK(lines[0].line_total_cents == 3897);
  CHECK(lines[1].line_total_cents == 1000);
  CHECK(t->subtotal_cents == 4897);
  CHECK(t->total_cents == 4897);
  CHECK(t->item_count == 1003);

  std::vector<order_line> huge{{1, "A-1", "a", INT64_MAX / 2, 3, 0}};
  CHECK_FALSE(shop::orders::price_lines(huge));
}

TEST_CASE("order request validation names each bad item", "[orders]") {
  auto check = [](const std::string& json, const std::string& field) {
    shop::field_errors errors;
    CHECK_FALSE(shop::orders::parse_order_request(boost::json::parse(json).as_object(), errors));
    bool found = false;
    for (std::size_t i = 0; i < errors.size(); ++i) found = found || errors.field(i) == field;
    INFO(json);
    CHECK(found);
  };
  check(R"({"items":[{"product_id":1,"quantity":1}]})", "customer_id");
  check(R"({"customer_id":1,"items":[]})", "items");
  check(R"({"customer_id":1,"items":"x"})", "items");
  check(R"({"customer_id":1,"items":[{"product_id":1,"quantity":0}]})", "items[0].quantity");
  check(R"({"customer_id":1,"items":[{"product_id":1,"quantity":1001}]})", "items[0].quantity");
  check(R"({"customer_id":1,"items":[{"product_id":1,"quantity":1},{"product_id":1,"quantity":2}]})",
        "items[1].product_id");
  check(R"({"customer_id":1,"items":[{"product_id":1.5,"quantity":1}]})", "items[0].product_id");
  check(R"({"customer_id":1,"items":[3]})", "items[0]");
}

TEST_CASE("placing an order prices it, reserves stock and can be cancelled", "[orders]") {
  shop_fixture shop;
  const auto a = shop.create_product("ORD-1", 1299, 10);
  const auto b = shop.create_product("ORD-2", 500, 2);
  const auto customer = shop.create_customer("buyer@example.com");

  auto placed = shop.call("POST", "/api/orders", order_body(customer, {{a, 3}, {b, 2}}));
  REQUIRE(placed.status == 201);
  auto order = boost::json::parse(placed.body);
  CHECK(order.at("total_cents").as_int64() == 3 * 1299 + 2 * 500);
  CHECK(order.at("item_count").as_int64() == 5);
  CHECK(order.at("lines").as_array().size() == 2);
  // Booked in the order's own transaction: confirmed at once (no address: collected at the shop).
  CHECK(order.at("status").as_string() == "confirmed");
  CHECK(order.at("cancel_reason").is_null());
  const auto id = std::to_string(order.at("id").as_int64());
  CHECK(shop.json("GET", "/api/orders/" + id + "/shipment").at("carrier") == "pickup");
  CHECK(*placed.headers.find("Location") == "/api/orders/" + id);
  CHECK(shop.json("GET", "/api/inventory/ORD-1").at("reserved").as_int64() == 3);

  // Prices are captured at order time.
  REQUIRE(shop.call("PUT", "/api/products/" + std::to_string(a),
                    R"({"sku":"ORD-1","name":"x","description":"","category":"c","price_cents":9999,"currency":"EUR"})")
              .status == 200);
  CHECK(shop.json("GET", "/api/orders/" + id).at("lines").at(0).at("unit_price_cents").as_int64() == 1299);

  auto listed = shop.json("GET", "/api/customers/" + std::to_string(customer) + "/orders");
  CHECK(listed.at("items").as_array().size() == 1);

  auto cancelled = shop.call("POST", "/api/orders/" + id + "/cancel");
  REQUIRE(cancelled.status == 200);
  CHECK(boost::json::parse(cancelled.body).at("status").as_string() == "cancelled");
  CHECK(boost::json::parse(cancelled.body).at("cancel_reason") == "cancelled by the customer");
  CHECK(shop.json("GET", "/api/inventory/ORD-1").at("reserved").as_int64() == 0);
  CHECK(shop.json("GET", "/api/shipments/" + id).at("status") == "cancelled");  // its shipment with it
  CHECK(shop.call("POST", "/api/orders/" + id + "/cancel").status == 409);
  CHECK(shop.call("POST", "/api/orders/999/cancel").status == 404);
}

TEST_CASE("refused orders leave no trace", "[orders]") {
  shop_fixture shop;
  const auto a = shop.create_product("REF-1", 100, 1);
  const auto usd = shop.create_product("REF-2", 100, 5, "USD");
  const auto customer = shop.create_customer("r@example.com");

  auto short_stock = shop.call("POST", "/api/orders", order_body(customer, {{a, 2}}));
  CHECK(short_stock.status == 409);
  auto err = boost::json::parse(short_stock.body).at("error");
  CHECK(err.at("code").as_string() == "insufficient_stock");
  CHECK(err.at("sku").as_string() == "REF-1");
  CHECK(err.at("available").as_int64() == 1);

  CHECK(shop.call("POST", "/api/orders", order_body(customer + 100, {{a, 1}})).status == 422);
  CHECK(shop.call("POST", "/api/orders", order_body(customer, {{a + 100, 1}})).status == 422);
  CHECK(shop.call("POST", "/api/orders", order_body(customer, {{a, 1}, {usd, 1}})).status == 422);

  CHECK(shop.json("GET", "/api/customers/" + std::to_string(customer) + "/orders").at("items").as_array().empty());
  CHECK(shop.json("GET", "/api/inventory/REF-1").at("reserved").as_int64() == 0);
  CHECK(shop.call("GET", "/api/orders/1").status == 404);
  CHECK(shop.call("GET", "/api/customers/999/orders").status == 404);
}

TEST_CASE("shadow dry runs answer as usual and commit nothing", "[orders][shadow]") {
  shop::test::shop_fixture shop;
  const auto product = shop.create_product("DRY-1", 500, 3);
  const auto customer = shop.create_customer("dry@example.com");
  const std::vector<std::pair<std::string, std::string>> dry{{"X-Banyan-Shadow", "dry-run"}};
  const std::string order = R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" +
                            std::to_string(product) + R"(,"quantity":2}]})";
  auto placed = shop.call("POST", "/api/orders", order, dry);
  REQUIRE(placed.status == 201);
  const auto id = boost::json::parse(placed.body).at("id").as_int64();
  CHECK(shop.call("GET", "/api/orders/" + std::to_string(id)).status == 404);
  CHECK(shop.json("GET", "/api/inventory/DRY-1").at("reserved").as_int64() == 0);
  CHECK(shop.call("POST", "/api/customers", R"({"email":"x@example.com","name":"X"})", dry).status == 201);
  CHECK(shop.call("POST", "/api/customers", R"({"email":"x@example.com","name":"X"})").status == 201);  // not taken
  CHECK(shop.call("DELETE", "/api/products/" + std::to_string(product), {}, dry).status == 204);
  CHECK(shop.call("GET", "/api/products/" + std::to_string(product)).status == 200);
  // Anything else in the header is an ordinary copy, which commits.
  CHECK(shop.call("POST", "/api/orders", order, {{"X-Banyan-Shadow", "1"}}).status == 201);
  CHECK(shop.json("GET", "/api/inventory/DRY-1").at("reserved").as_int64() == 2);
}
