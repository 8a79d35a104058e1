#include "banyan/shadow/compare.hpp"

#include <catch2/catch.hpp>

using namespace banyan::shadow;

namespace {
captured_response answer(int status, std::string content_type, std::string body) {
  captured_response r;
  r.status = status;
  if (!content_type.empty()) r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}
compare_rules rules_for(banyan::proxy::compare_settings s = {}) {
  compare_rules r;
  std::vector<std::string> problems;
  REQUIRE(compare_rules::compile(s, r, problems));
  return r;
}
}  // namespace

TEST_CASE("status and content type are compared by default, other headers on request") {
  auto m = answer(200, "application/json", R"({"a":1})");
  auto s = answer(404, "application/problem+json", R"({"a":1})");
  m.headers.emplace_back("cache-control", "no-store");
  auto c = compare_responses(m, s, rules_for());
  REQUIRE(c.differences.size() == 2);
  CHECK(c.differences[0].where == "status");
  CHECK(c.differences[1].where == "header content-type");
  banyan::proxy::compare_settings settings;
  settings.headers = {"Cache-Control"};
  settings.ignore_headers = {"Content-Type"};
  c = compare_responses(m, s, rules_for(settings));
  REQUIRE(c.differences.size() == 2);
  CHECK(c.differences[1].where == "header cache-control");
  CHECK(c.differences[1].kind == diff_kind::missing);
}

TEST_CASE("JSON bodies structurally, invalid JSON on one side, other bodies by bytes") {
  auto c = compare_responses(answer(200, "application/json", R"({"a":1})"), answer(200, "application/json", "{\"a\":2}"),
                             rules_for());
  REQUIRE(c.differences.size() == 1);
  CHECK(c.differences[0].where == "$.a");
  c = compare_responses(answer(200, "application/json", R"({"a":1})"), answer(200, "application/json", "{\"a\":"),
                        rules_for());
  REQUIRE(c.differences.size() == 1);
  CHECK(c.differences[0].kind == diff_kind::not_json);
  CHECK(c.differences[0].service.find("invalid JSON at byte 5") == 0);
  c = compare_responses(answer(200, "text/plain", "hello world"), answer(200, "text/plain", "hello there"), rules_for());
  REQUIRE(c.differences.size() == 1);
  CHECK(c.differences[0].kind == diff_kind::bytes_differ);
  CHECK(c.differences[0].monolith.find("first difference at byte 6") != std::string::npos);
}

TEST_CASE("oversized and unanswered exchanges are not compared") {
  auto m = answer(200, "application/json", "{}");
  auto s = m;
  s.too_large = true;
  CHECK(compare_responses(m, s, rules_for()).result == comparison::outcome::too_large);
  s = {};
  s.failure = "connection refused";
  CHECK(compare_responses(m, s, rules_for()).result == comparison::outcome::no_answer);
}

TEST_CASE("sensitive headers are never shown") {
  banyan::proxy::compare_settings settings;
  settings.headers = {"Set-Cookie", "X-Token"};
  settings.redact_headers = {"X-Token"};
  auto m = answer(200, "", "");
  auto s = answer(200, "", "");
  m.headers = {{"set-cookie", "sid=1"}, {"x-token", "secret"}};
  s.headers = {{"set-cookie", "sid=2"}, {"x-token", "other"}};
  const auto c = compare_responses(m, s, rules_for(settings));
  REQUIRE(c.differences.size() == 2);
  for (const auto& d : c.differences) {
    CHECK(d.monolith == "[redacted]");
    CHECK(d.service == "[redacted]");
  }
}

TEST_CASE("raw responses are parsed, chunked bodies decoded") {
  captured_response r;
  std::string why;
  REQUIRE(parse_captured("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n",
                         "GET", r, why));
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.body == "{\"a\":1}");
  CHECK_FALSE(parse_captured("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET", r, why));
  std::string out;
  CHECK_FALSE(dechunk("zz\r\n", out));
  CHECK_FALSE(dechunk("5\r\nab", out));
  // The relay's strictness: no data past the chunk's size, trailers read, not compared.
  CHECK_FALSE(dechunk("2\r\nabc\r\n0\r\n\r\n", out));
  CHECK(dechunk("2\r\nab\r\n0\r\nX-Trailer: 1\r\n\r\n", out));
  CHECK(out == "ab");
}

TEST_CASE("bad rules are reported, one message each") {
  banyan::proxy::compare_settings settings;
  settings.ignore = {"generated_at", "$.ok"};
  settings.unordered = {{"$.items", ""}};
  compare_rules r;
  std::vector<std::string> problems;
  CHECK_FALSE(compare_rules::compile(settings, r, problems));
  CHECK(problems.size() == 2);
}
