#include "modules/catalog/catalog.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

using shop::test::shop_fixture;

TEST_CASE("catalog rules: SKU and currency formats", "[catalog]") {
  CHECK(shop::catalog::valid_sku("KIT-1001"));
  CHECK_FALSE(shop::catalog::valid_sku("ki"));
  CHECK_FALSE(shop::catalog::valid_sku("kit-1001"));
  CHECK_FALSE(shop::catalog::valid_sku(std::string(33, 'A')));
  CHECK(shop::catalog::valid_currency("EUR"));
  CHECK_FALSE(shop::catalog::valid_currency("eur"));
  CHECK_FALSE(shop::catalog::valid_currency("EURO"));
}

TEST_CASE("product input validation names every bad field", "[catalog]") {
  shop::field_errors errors;
  auto body = boost::json::parse(R"({"sku":"bad sku","name":"","price_cents":-1,"currency":"E","colour":"red"})").as_object();
  CHECK_FALSE(shop::catalog::parse_product_input(body, errors));
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < errors.size(); ++i) fields.push_back(errors.field(i));
  CHECK_THAT(fields, Catch::Matchers::UnorderedEquals(
                         std::vector<std::string>{"colour", "sku", "name", "category", "price_cents", "currency"}));
}

TEST_CASE("products: create, read, update, delete", "[catalog]") {
  shop_fixture shop;
  auto created = shop.call("POST", "/api/products",
                           R"({"sku":"ABC-1","name":"Mug","description":"Blue","category":"kitchen","price_cents":1299,"currency":"EUR"})");
  REQUIRE(created.status == 201);
  const auto id = boost::json::parse(created.body).at("id").as_int64();

  auto got = shop.json("GET", "/api/products/" + std::to_string(id));
  CHECK(got.at("name").as_string() == "Mug");
  CHECK(got.at("price_cents").as_int64() == 1299);
  CHECK(got.at("request_id").as_string() == "test-request");
  CHECK(got.as_object().contains("generated_at"));

  auto updated = shop.call("PUT", "/api/products/" + std::to_string(id),
                           R"({"sku":"ABC-1","name":"Big Mug","description":"Blue","category":"kitchen","price_cents":1499,"currency":"EUR"})");
  CHECK(updated.status == 200);
  CHECK(shop.json("GET", "/api/products/" + std::to_string(id)).at("name").as_string() == "Big Mug");

  CHECK(shop.call("DELETE", "/api/products/" + std::to_string(id)).status == 204);
  CHECK(shop.call("GET", "/api/products/" + std::to_string(id)).status == 404);
  CHECK(shop.call("DELETE", "/api/products/" + std::to_string(id)).status == 404);
}

TEST_CASE("products: duplicate SKU is 409, bad input 422, unknown id 404", "[catalog]") {
  shop_fixture shop;
  shop.create_product("DUP-1", 100, 0);
  const std::string body = R"({"sku":"DUP-1","name":"x","description":"","category":"c","price_cents":1,"currency":"EUR"})";
  auto dup = shop.call("POST", "/api/products", body);
  CHECK(dup.status == 409);
  CHECK(boost::json::parse(dup.body).at("error").at("code").as_string() == "sku_taken");

  auto invalid = shop.call("POST", "/api/products", R"({"sku":"X-1"})");
  CHECK(invalid.status == 422);
  CHECK(boost::json::parse(invalid.body).at("error").at("fields").as_array().size() >= 4);

  CHECK(shop.call("PUT", "/api/products/999", R"({"sku":"NEW-1","name":"x","description":"","category":"c","price_cents":1,"currency":"EUR"})").status == 404);
  CHECK(shop.call("GET", "/api/products/abc").status == 404);
}

TEST_CASE("product list filters by category and text and pages", "[catalog]") {
  shop_fixture shop;
  for (int i = 0; i < 5; ++i) shop.create_product("KIT-" + std::to_string(100 + i), 100 + i, 1);
  auto c = shop.call("POST", "/api/products",
                     R"({"sku":"GAR-1","name":"Garden 50% hose","description":"long","category":"garden","price_cents":10,"currency":"EUR"})");
  REQUIRE(c.status == 201);

  auto page = shop.json("GET", "/api/products?page=2&page_size=2");
  CHECK(page.at("total").as_int64() == 6);
  CHECK(page.at("page").as_int64() == 2);
  CHECK(page.at("items").as_array().size() == 2);
  CHECK(page.at("items").at(0).at("sku").as_string() == "KIT-102");

  auto garden = shop.json("GET", "/api/products?category=garden");
  CHECK(garden.at("total").as_int64() == 1);
  // The search text is literal: '%' matches only a percent sign.
  CHECK(shop.json("GET", "/api/products?q=50%25").at("total").as_int64() == 1);
  CHECK(shop.json("GET", "/api/products?q=%25").at("total").as_int64() == 1);

  CHECK(shop.call("GET", "/api/products?page=0").status == 400);
  CHECK(shop.call("GET", "/api/products?page_size=101").status == 400);
}
