#include "banyan/platform/yaml_reader.hpp"

#include <catch2/catch.hpp>

using namespace banyan;

TEST_CASE("durations and sizes", "[yaml]") {
  std::chrono::milliseconds d{};
  CHECK((parse_duration("10s", d) && d == std::chrono::seconds(10)));
  CHECK((parse_duration("250ms", d) && d.count() == 250));
  CHECK((parse_duration("2m", d) && d == std::chrono::minutes(2)));
  CHECK((parse_duration("1h", d) && d == std::chrono::hours(1)));
  CHECK((parse_duration("75", d) && d.count() == 75));
  CHECK_FALSE(parse_duration("1d", d));
  CHECK_FALSE(parse_duration("-1s", d));
  std::uint64_t s = 0;
  CHECK((parse_size("16KiB", s) && s == 16384));
  CHECK((parse_size("2GiB", s) && s == (2ull << 30)));
  CHECK_FALSE(parse_size("16kb", s));
}

TEST_CASE("the reader reports unknown keys with hints at their position", "[yaml]") {
  diagnostics d;
  YAML::Node root;
  REQUIRE(load_yaml("name: x\nstagse: []\n", "f.yaml", root, d));
  yaml_reader r("f.yaml", d);
  r.check_keys(root, {"name", "stages"}, "the plan");
  REQUIRE(d.items().size() == 1);
  CHECK(d.items()[0].to_string() == "f.yaml:2:1: error: unknown key 'stagse' in the plan (did you mean 'stages'?)");
  CHECK_FALSE(load_yaml("a: [1, 2\n", "g.yaml", root, d));
  CHECK(d.items().back().to_string().rfind("g.yaml:", 0) == 0);
}

TEST_CASE("closest_match only hints at plausible typos", "[yaml]") {
  CHECK(closest_match("servce", {"service", "services", "stages"}) == "service");
  CHECK(closest_match("xyz", {"service", "stages"}).empty());
}

TEST_CASE("a key that is a list or a mapping is an error at its position, not an exception", "[yaml]") {
  diagnostics d;
  YAML::Node root;
  REQUIRE(load_yaml("name: x\n? [a, b]\n: 1\n", "k.yaml", root, d));
  yaml_reader r("k.yaml", d);
  r.check_keys(root, {"name"}, "the plan");
  REQUIRE(d.has_errors());
  CHECK(d.to_string().find("k.yaml:2:3: error: keys in the plan must be plain names") != std::string::npos);
}
