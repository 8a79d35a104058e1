#include "modules/customers/customers.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

using shop::test::shop_fixture;

TEST_CASE("email rule", "[customers]") {
  CHECK(shop::customers::valid_email("ada@example.com"));
  CHECK_FALSE(shop::customers::valid_email("ada.example.com"));
  CHECK_FALSE(shop::customers::valid_email("@example.com"));
  CHECK_FALSE(shop::customers::valid_email("ada@example"));
  CHECK_FALSE(shop::customers::valid_email("a da@example.com"));
  CHECK_FALSE(shop::customers::valid_email("a@b@example.com"));
}

TEST_CASE("customers: create, read, duplicate email, validation", "[customers]") {
  shop_fixture shop;
  auto created = shop.call("POST", "/api/customers", R"({"email":"Ada@Example.com","name":"Ada"})");
  REQUIRE(created.status == 201);
  auto body = boost::json::parse(created.body);
  CHECK(body.at("email").as_string() == "ada@example.com");

  auto got = shop.json("GET", "/api/customers/" + std::to_string(body.at("id").as_int64()));
  CHECK(got.at("name").as_string() == "Ada");
  CHECK(got.as_object().contains("generated_at"));

  auto dup = shop.call("POST", "/api/customers", R"({"email":"ada@example.com","name":"Other"})");
  CHECK(dup.status == 409);
  CHECK(shop.call("POST", "/api/customers", R"({"email":"nope","name":"x"})").status == 422);
  CHECK(shop.call("POST", "/api/customers", R"({"email":"a@b.c"})").status == 422);
  CHECK(shop.call("GET", "/api/customers/99").status == 404);
}
