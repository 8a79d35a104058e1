#include "seed/seed.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

using shop::test::shop_fixture;

TEST_CASE("the seed is realistic and reproducible, and only fills an empty database", "[seed]") {
  shop_fixture one, two;
  shop::seed_counts counts;
  {
    auto conn = one.app.db().acquire();
    counts = shop::seed(*conn);
  }
  {
    auto conn = two.app.db().acquire();
    shop::seed(*conn);
  }
  CHECK(counts.products == 240);
  CHECK(counts.customers == 60);
  CHECK(counts.orders >= 30);

  auto strip = [](boost::json::value v) {
    for (auto& p : v.at("items").as_array()) p.as_object().erase("updated_at");
    v.as_object().erase("generated_at");
    return v;
  };
  CHECK(strip(one.json("GET", "/api/products?page=3&page_size=50")) ==
        strip(two.json("GET", "/api/products?page=3&page_size=50")));
  CHECK(one.json("GET", "/api/products?category=audio").at("total").as_int64() == 30);

  auto conn = one.app.db().acquire();
  CHECK(shop::seed(*conn).skipped);
  CHECK(one.json("GET", "/api/products").at("total").as_int64() == 240);
}
