#include "banyan/proxy/request_path.hpp"
#include "banyan/proxy/route_table.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace banyan::proxy;

namespace {
// The target the upstream gets, or "refused:<code>".
std::string normalized(std::string_view target) {
  std::string out = "untouched";
  const auto r = normalize_target(target, out);
  if (r.verdict == path_verdict::refused) return std::string("refused:") + r.code;
  if (r.verdict == path_verdict::unchanged) {
    CHECK(out == "untouched");  // no copy on the common path
    return std::string(target);
  }
  CHECK(out != target);
  return out;
}
}  // namespace

TEST_CASE("ordinary paths are left as they are, without a copy", "[path]") {
  for (const char* t : {"/", "/api/products", "/api/products/7?x=1&y=%2F..", "/static/app.v2.js", "/.well-known/x",
                        "//api//products/", "/a/b.", "/a/..b", "/a/...", "*"})
    CHECK(normalized(t) == t);
}

TEST_CASE("dot-segments are removed as RFC 3986 5.2.4 says", "[path]") {
  CHECK(normalized("/api/./products") == "/api/products");
  CHECK(normalized("/api/x/../products/7") == "/api/products/7");
  CHECK(normalized("/api/products/7/..") == "/api/products/");
  CHECK(normalized("/api/products/.") == "/api/products/");
  CHECK(normalized("/a/b/c/./../../g") == "/a/g");
  CHECK(normalized("/./api") == "/api");
  CHECK(normalized("/api/..") == "/");
  CHECK(normalized("/api/products/../products?q=../x") == "/api/products?q=../x");  // the query is not a path
}

TEST_CASE("a path climbing above the root is refused", "[path]") {
  for (const char* t : {"/..", "/../../etc/passwd", "/a/../../x", "/%2e%2e/etc/passwd", "/./../x", "/a/%2E%2E/.."})
    CHECK(normalized(t) == "refused:bad_path_dot_segment");
}

TEST_CASE("percent-encoded unreserved characters are decoded, others upper-cased", "[path]") {
  CHECK(normalized("/api/%70roducts") == "/api/products");
  CHECK(normalized("/api/products/%37") == "/api/products/7");
  CHECK(normalized("/api/%7Euser/%41-%5f") == "/api/~user/A-_");
  CHECK(normalized("/api/%2e/products") == "/api/products");
  CHECK(normalized("/api/x/%2E%2e/products") == "/api/products");
  CHECK(normalized("/a%3ab") == "/a%3Ab");
  CHECK(normalized("/a%3Ab") == "/a%3Ab");
  CHECK(normalized("/caf%C3%A9") == "/caf%C3%A9");
}

TEST_CASE("encoded slashes, backslashes, NUL and broken escapes are refused", "[path]") {
  CHECK(normalized("/api%2fproducts") == "refused:bad_path_encoded_slash");
  CHECK(normalized("/api%2Fproducts") == "refused:bad_path_encoded_slash");
  CHECK(normalized("/api%5cproducts") == "refused:bad_path_encoded_slash");
  CHECK(normalized("/api\\products") == "refused:bad_path_backslash");
  CHECK(normalized("/api/%00") == "refused:bad_path_encoded_nul");
  for (const char* t : {"/api/%", "/api/%4", "/api/%zz", "/api/%4g/x"}) CHECK(normalized(t) == "refused:bad_path_encoding");
}

TEST_CASE("normalising twice changes nothing more", "[path]") {
  for (const char* t : {"/a/./b/../c", "/%61/%2e/x%3a", "/a//b/../c/", "/api/products/%37?x"}) {
    const std::string once = normalized(t);
    CHECK(normalized(once) == once);
  }
}

TEST_CASE("every spelling of a routed path reaches the route its canonical path reaches", "[path][route]") {
  std::vector<route> routes;
  route list;
  list.id = "list";
  list.methods = {"GET"};
  list.path = "/api/products";
  routes.push_back(list);
  route one = list;
  one.id = "one";
  one.path = "/api/products/{id}";
  routes.push_back(one);
  route admin = list;
  admin.id = "admin";
  admin.path = "/admin/**";
  routes.push_back(admin);
  std::vector<route_error> errors;
  const auto table = route_table::build(routes, errors);
  REQUIRE(table);
  auto owner = [&](std::string_view target) -> std::string {
    std::string out;
    const auto r = normalize_target(target, out);
    if (r.verdict == path_verdict::refused) return "refused";
    const route* m = table->match("GET", r.verdict == path_verdict::normalized ? std::string_view(out) : target);
    return m ? m->id : "monolith";
  };
  CHECK(owner("/api/products") == "list");
  CHECK(owner("/api/products/7") == "one");
  CHECK(owner("/admin/users") == "admin");
  CHECK(owner("/api/./products") == "list");
  CHECK(owner("/api/%70roducts/7") == "one");
  CHECK(owner("/admin/../api/products") == "list");  // not the admin route, although it starts with /admin
  CHECK(owner("/api/products/7/../../../admin/x") == "admin");
  CHECK(owner("/api/products/%2e%2e/%2e%2e/admin") == "admin");
  CHECK(owner("/api%2Fproducts") == "refused");
  CHECK(owner("/%2e%2e/admin") == "refused");
}
