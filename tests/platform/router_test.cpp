#include "banyan/platform/router.hpp"

#include <catch2/catch.hpp>

using namespace banyan::http;

namespace {
router make_router() {
  router r;
  auto tag = [](std::string t) {
    return [t](request& req) {
      response res;
      res.body = t;
      for (const auto& [k, v] : req.params) res.body += " " + k + "=" + v;
      return res;
    };
  };
  r.add("GET", "/api/products", tag("list"));
  r.add("POST", "/api/products", tag("create"));
  r.add("GET", "/api/products/{id}", tag("one"));
  r.add("GET", "/api/products/featured", tag("featured"));
  r.add("POST", "/api/orders/{id}/cancel", tag("cancel"));
  return r;
}

response call(const router& r, std::string method, std::string path) {
  request req;
  req.method = std::move(method);
  req.path = std::move(path);
  return r.dispatch(req);
}
}  // namespace

TEST_CASE("router picks the handler by method and pattern", "[router]") {
  auto r = make_router();
  CHECK(call(r, "GET", "/api/products").body == "list");
  CHECK(call(r, "POST", "/api/products").body == "create");
  CHECK(call(r, "GET", "/api/products/42").body == "one id=42");
  CHECK(call(r, "POST", "/api/orders/7/cancel").body == "cancel id=7");
}

TEST_CASE("a literal segment beats a parameter", "[router]") {
  auto r = make_router();
  CHECK(call(r, "GET", "/api/products/featured").body == "featured");
}

TEST_CASE("unknown paths are 404 and wrong methods 405 with Allow", "[router]") {
  auto r = make_router();
  auto missing = call(r, "GET", "/api/nothing");
  CHECK(missing.status == 404);
  CHECK(missing.body.find("\"not_found\"") != std::string::npos);

  auto wrong = call(r, "DELETE", "/api/products");
  CHECK(wrong.status == 405);
  REQUIRE(wrong.headers.find("Allow"));
  CHECK(*wrong.headers.find("Allow") == "GET, HEAD, POST");
}

TEST_CASE("HEAD is served by the GET handler", "[router]") {
  auto r = make_router();
  CHECK(call(r, "HEAD", "/api/products/1").body == "one id=1");
}

TEST_CASE("trailing and repeated slashes do not create new resources", "[router]") {
  auto r = make_router();
  CHECK(call(r, "GET", "/api/products/").body == "list");
  CHECK(call(r, "GET", "/api//products").body == "list");
}

TEST_CASE("malformed and duplicate patterns are refused", "[router]") {
  router r;
  CHECK_THROWS_AS(r.add("GET", "api/x", [](request&) { return response{}; }), std::invalid_argument);
  CHECK_THROWS_AS(r.add("GET", "/api/{", [](request&) { return response{}; }), std::invalid_argument);
  r.add("GET", "/a/{id}", [](request&) { return response{}; });
  CHECK_THROWS_AS(r.add("GET", "/a/{other}", [](request&) { return response{}; }), std::invalid_argument);
}
