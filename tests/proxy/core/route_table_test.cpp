#include "banyan/proxy/route_table.hpp"

#include <catch2/catch.hpp>

using namespace banyan::proxy;

namespace {
route make(std::string id, std::string path, std::vector<std::string> methods = {}) {
  route r;
  r.id = std::move(id);
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.service = "catalog";
  r.mode = route_mode::service;
  return r;
}

std::shared_ptr<const route_table> build_ok(std::vector<route> routes) {
  std::vector<route_error> errors;
  auto t = route_table::build(std::move(routes), errors);
  INFO((errors.empty() ? "" : errors.front().message));
  REQUIRE(t);
  return t;
}

std::string matched(const route_table& t, std::string_view method, std::string_view path) {
  const route* r = t.match(method, path);
  return r ? r->id : "monolith";
}
}  // namespace

TEST_CASE("the most specific route wins, unmatched goes to the monolith", "[route_table]") {
  auto t = build_ok({make("catalog-all", "/api/catalog/**"), make("products", "/api/products", {"GET"}),
                     make("product", "/api/products/{id}", {"GET", "HEAD"}),
                     make("featured", "/api/products/featured"), make("product-writes", "/api/products/{id}", {"PUT", "DELETE"}),
                     make("everything-api", "/api/**")});
  CHECK(matched(*t, "GET", "/api/products") == "products");
  CHECK(matched(*t, "GET", "/api/products?page=2") == "products");
  CHECK(matched(*t, "GET", "/api/products/42") == "product");
  CHECK(matched(*t, "HEAD", "/api/products/42") == "product");
  CHECK(matched(*t, "PUT", "/api/products/42") == "product-writes");
  CHECK(matched(*t, "GET", "/api/products/featured") == "featured");
  CHECK(matched(*t, "GET", "/api/catalog") == "catalog-all");
  CHECK(matched(*t, "POST", "/api/catalog/a/b/c") == "catalog-all");
  // A method the specific routes do not take falls through to a less specific one.
  CHECK(matched(*t, "POST", "/api/products") == "everything-api");
  CHECK(matched(*t, "PATCH", "/api/products/42") == "everything-api");
  CHECK(matched(*t, "GET", "/api/products/42/reviews") == "everything-api");
  CHECK(matched(*t, "GET", "/healthz") == "monolith");
  CHECK(matched(*t, "GET", "/") == "monolith");
}

TEST_CASE("a literal branch that dead-ends backtracks to a parameter", "[route_table]") {
  auto t = build_ok({make("a", "/x/literal/end"), make("b", "/x/{p}/other")});
  CHECK(matched(*t, "GET", "/x/literal/other") == "b");
  CHECK(matched(*t, "GET", "/x/literal/end") == "a");
}

TEST_CASE("ties, bad patterns and bad routes are validation errors", "[route_table]") {
  auto errors_of = [](std::vector<route> routes) {
    std::vector<route_error> errors;
    auto t = route_table::build(std::move(routes), errors);
    CHECK_FALSE(t);
    return errors;
  };
  auto tie = errors_of({make("a", "/api/products/{id}", {"GET"}), make("b", "/api/products/{pid}", {"GET", "PUT"})});
  REQUIRE(tie.size() == 1);
  CHECK(tie[0].route_id == "b");
  CHECK(tie[0].message.find("ties with route 'a'") != std::string::npos);
  CHECK(errors_of({make("a", "/x"), make("b", "/x", {"GET"})}).size() == 1);  // "any" overlaps GET
  CHECK(errors_of({make("a", "api/x")}).size() == 1);
  CHECK(errors_of({make("a", "/api/**/x")}).size() == 1);
  CHECK(errors_of({make("a", "/api/{bad-name}")}).size() == 1);
  CHECK(errors_of({make("a", "/api/x*")}).size() == 1);
  CHECK(errors_of({make("a", "/x", {"FETCH"})}).size() == 1);
  CHECK(errors_of({make("a", "/x"), make("a", "/y")}).size() == 1);
  auto no_service = make("a", "/x");
  no_service.service.clear();
  CHECK(errors_of({no_service}).size() == 1);
  auto too_much = make("a", "/x");
  too_much.percent_bp = 10'001;
  CHECK(errors_of({too_much}).size() == 1);

  // Disjoint methods on one pattern are fine.
  build_ok({make("a", "/api/products/{id}", {"GET"}), make("b", "/api/products/{id}", {"PUT"})});
}

TEST_CASE("modes round-trip through text", "[route_table]") {
  for (auto m : {route_mode::monolith, route_mode::shadow, route_mode::canary, route_mode::service}) {
    route_mode back{};
    REQUIRE(parse_mode(to_string(m), back));
    CHECK(back == m);
  }
  route_mode m{};
  CHECK_FALSE(parse_mode("Service", m));
}
