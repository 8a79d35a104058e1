#include "banyan/platform/http_message.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace banyan::http;

TEST_CASE("header lookup ignores case and set replaces every occurrence", "[http]") {
  header_list h;
  h.add("Content-Type", "text/plain");
  h.add("X-A", "1");
  h.add("x-a", "2");
  REQUIRE(h.find("content-type"));
  CHECK(*h.find("CONTENT-TYPE") == "text/plain");
  h.set("X-a", "3");
  CHECK(h.size() == 2);
  CHECK(*h.find("x-A") == "3");
  h.erase("content-type");
  CHECK(h.find("Content-Type") == nullptr);
}

TEST_CASE("targets split into a decoded path and query", "[http]") {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  REQUIRE(parse_target("/api/products?category=kitchen%20ware&q=a+b&flag", path, query));
  CHECK(path == "/api/products");
  REQUIRE(query.size() == 3);
  CHECK(query[0] == std::pair<std::string, std::string>{"category", "kitchen ware"});
  CHECK(query[2].first == "flag");
  CHECK_FALSE(parse_target("http://example.com/x", path, query));
  CHECK_FALSE(parse_target("no-slash", path, query));
}

TEST_CASE("error responses have the one JSON shape", "[http]") {
  auto res = error_response(422, "validation_failed", "name is required");
  CHECK(res.status == 422);
  CHECK(*res.headers.find("Content-Type") == "application/json");
  auto v = boost::json::parse(res.body);
  CHECK(v.at("error").at("code").as_string() == "validation_failed");
  CHECK(v.at("error").at("message").as_string() == "name is required");
}

TEST_CASE("JSON bodies: 411, 415 and 400 before a handler sees them", "[http]") {
  request req;
  req.method = "POST";
  req.headers.add("Content-Type", "application/json; charset=utf-8");
  req.body = R"({"a":1})";
  auto ok = parse_json_object(req);
  REQUIRE(ok);
  CHECK(ok->at("a").as_int64() == 1);

  req.body_framed = false;
  auto unframed = parse_json_object(req);
  REQUIRE_FALSE(unframed);
  CHECK(unframed.error().status == 411);
  req.body_framed = true;

  req.headers.set("Content-Type", "text/plain");
  auto wrong_type = parse_json_object(req);
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().status == 415);

  req.headers.set("Content-Type", "application/problem+json");
  CHECK(parse_json_object(req));

  req.body = R"({"a":)";
  auto malformed = parse_json_object(req);
  REQUIRE_FALSE(malformed);
  CHECK(malformed.error().status == 400);
  CHECK(malformed.error().body.find("malformed_json") != std::string::npos);

  req.body = "[1,2]";
  auto not_object = parse_json_object(req);
  REQUIRE_FALSE(not_object);
  CHECK(not_object.error().status == 400);
}
