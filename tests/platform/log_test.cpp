#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/request_id.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

TEST_CASE("a log line is one JSON object with time, level, msg and fields", "[log]") {
  const std::string line =
      banyan::log::format_line(banyan::log::level::warn, "slow \"query\"\n", {{"request_id", "abc"}, {"ms", 12}});
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);  // embedded newlines are escaped
  auto v = boost::json::parse(line);
  CHECK(v.at("level").as_string() == "warn");
  CHECK(v.at("msg").as_string() == "slow \"query\"\n");
  CHECK(v.at("request_id").as_string() == "abc");
  CHECK(v.at("ms").as_int64() == 12);
  CHECK(v.at("time").as_string().size() == 24);
}

TEST_CASE("levels parse and filter", "[log]") {
  banyan::log::level l{};
  CHECK(banyan::log::parse_level("debug", l));
  CHECK(l == banyan::log::level::debug);
  CHECK_FALSE(banyan::log::parse_level("verbose", l));
  banyan::log::set_min_level(banyan::log::level::warn);
  CHECK_FALSE(banyan::log::enabled(banyan::log::level::info));
  CHECK(banyan::log::enabled(banyan::log::level::error));
  banyan::log::set_min_level(banyan::log::level::info);
}

TEST_CASE("request ids: valid ones are kept, new ones are unique hex", "[log]") {
  CHECK(banyan::valid_request_id("abc-123_X.y:z"));
  CHECK_FALSE(banyan::valid_request_id(""));
  CHECK_FALSE(banyan::valid_request_id("has space"));
  CHECK_FALSE(banyan::valid_request_id("inject\r\nX: 1"));
  CHECK_FALSE(banyan::valid_request_id(std::string(129, 'a')));
  const auto a = banyan::make_request_id(), b = banyan::make_request_id();
  CHECK(a.size() == 32);
  CHECK(a != b);
  CHECK(banyan::valid_request_id(a));
}

TEST_CASE("RFC 3339 times read back what they write", "[clock]") {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795317469947));
  std::chrono::system_clock::time_point back;
  REQUIRE(banyan::parse_rfc3339(banyan::format_rfc3339(t), back));
  CHECK(back == t);
  REQUIRE(banyan::parse_rfc3339("2026-11-22T02:41:08Z", back));
  CHECK(banyan::format_rfc3339(back) == "2026-11-22T02:41:08.000Z");
  CHECK_FALSE(banyan::parse_rfc3339("2026-13-22T02:41:08Z", back));
  CHECK_FALSE(banyan::parse_rfc3339("2026-11-22 02:41:08Z", back));
  CHECK_FALSE(banyan::parse_rfc3339("2026-11-22T02:41:08.12Z", back));
  CHECK_FALSE(banyan::parse_rfc3339("2999-01-01T00:00:00Z", back));  // past what system_clock holds
}
