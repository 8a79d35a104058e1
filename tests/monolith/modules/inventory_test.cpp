#include "modules/inventory/inventory.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

using shop::inventory::reservation_line;
using shop::inventory::stock;
using shop::test::shop_fixture;

TEST_CASE("shortage: lines for the same SKU add up against what is available", "[inventory]") {
  const std::vector<stock> levels{{"A-1", 10, 4, ""}, {"B-1", 3, 0, ""}};
  CHECK_FALSE(shop::inventory::find_shortage({{"A-1", 6}, {"B-1", 3}}, levels));
  auto s = shop::inventory::find_shortage({{"A-1", 4}, {"B-1", 1}, {"A-1", 3}}, levels);
  REQUIRE(s);
  CHECK(s->sku == "A-1");
  CHECK(s->requested == 7);
  CHECK(s->available == 6);
  auto unknown = shop::inventory::find_shortage({{"C-1", 1}}, levels);
  REQUIRE(unknown);
  CHECK(unknown->available == 0);
}

TEST_CASE("reserve is all or nothing, release gives stock back", "[inventory]") {
  shop_fixture shop;
  shop.create_product("AAA-1", 100, 5);
  shop.create_product("BBB-1", 100, 1);
  auto conn = shop.app.db().acquire();
  {
    banyan::sqlite::transaction tx(*conn);
    auto s = shop::inventory::reserve(*conn, 1, {{"AAA-1", 2}, {"BBB-1", 2}});
    REQUIRE(s);
    CHECK(s->sku == "BBB-1");
    tx.commit();
  }
  CHECK(shop::inventory::find(*conn, "AAA-1")->reserved == 0);
  {
    banyan::sqlite::transaction tx(*conn);
    CHECK_FALSE(shop::inventory::reserve(*conn, 1, {{"AAA-1", 2}, {"BBB-1", 1}}));
    tx.commit();
  }
  CHECK(shop::inventory::find(*conn, "AAA-1")->available() == 3);
  CHECK(shop::inventory::find(*conn, "BBB-1")->available() == 0);
  {
    banyan::sqlite::transaction tx(*conn);
    shop::inventory::release(*conn, 1);
    shop::inventory::release(*conn, 1);  // twice is harmless
    tx.commit();
  }
  CHECK(shop::inventory::find(*conn, "AAA-1")->available() == 5);
  CHECK(shop::inventory::find(*conn, "BBB-1")->reserved == 0);
}

TEST_CASE("stock endpoints", "[inventory]") {
  shop_fixture shop;
  shop.create_product("INV-1", 100, 7);
  auto got = shop.json("GET", "/api/inventory/INV-1");
  CHECK(got.at("on_hand").as_int64() == 7);
  CHECK(got.at("available").as_int64() == 7);
  CHECK(shop.call("GET", "/api/inventory/NOPE-1").status == 404);
  CHECK(shop.call("PUT", "/api/inventory/NOPE-1", R"({"on_hand":1})").status == 404);
  CHECK(shop.call("PUT", "/api/inventory/INV-1", R"({"on_hand":-1})").status == 422);
  CHECK(shop.call("PUT", "/api/inventory/INV-1", R"({"on_hand":"many"})").status == 422);
  CHECK(shop.call("PUT", "/api/inventory/INV-1", R"({"on_hand":9,"extra":1})").status == 422);

  // on_hand may not drop below what orders hold.
  const auto customer = shop.create_customer("inv@example.com");
  const auto pid = boost::json::parse(shop.call("GET", "/api/products?q=INV").body).at("items").at(0).at("id").as_int64();
  REQUIRE(shop.call("POST", "/api/orders",
                    R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" +
                        std::to_string(pid) + R"(,"quantity":5}]})")
              .status == 201);
  CHECK(shop.call("PUT", "/api/inventory/INV-1", R"({"on_hand":4})").status == 422);
  CHECK(shop.call("PUT", "/api/inventory/INV-1", R"({"on_hand":5})").status == 200);
  CHECK(shop.json("GET", "/api/inventory/INV-1").at("available").as_int64() == 0);
}
