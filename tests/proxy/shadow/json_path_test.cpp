#include "banyan/shadow/json_path.hpp"

#include <catch2/catch.hpp>

using namespace banyan::shadow;

namespace {
bool matches(const std::string& pattern, const json_path& p) {
  path_pattern pat;
  std::string why;
  REQUIRE(path_pattern::parse(pattern, pat, why));
  return pat.matches(p.segments());
}
}  // namespace

TEST_CASE("paths render as JSONPath and normalize array positions") {
  json_path p;
  p.push_member("items");
  p.push_index(3);
  p.push_member("unit price");
  CHECK(p.text() == "$.items[3]['unit price']");
  CHECK(p.normalized() == "$.items[*]['unit price']");
}

TEST_CASE("patterns match members, indices, wildcards and any depth") {
  json_path p;
  p.push_member("items");
  p.push_index(3);
  p.push_member("updated_at");
  CHECK(matches("$.items[*].updated_at", p));
  CHECK(matches("$.items[3].updated_at", p));
  CHECK_FALSE(matches("$.items[2].updated_at", p));
  CHECK(matches("$..updated_at", p));
  CHECK(matches("$.items.*.updated_at", p));
  CHECK(matches("$..[*].updated_at", p));
  CHECK(matches("$['items'][*]['updated_at']", p));
  CHECK_FALSE(matches("$.items", p));  // patterns match whole paths; the diff skips below a match
  CHECK_FALSE(matches("$..items", p));
  json_path root;
  CHECK(matches("$", root));
}

TEST_CASE("bad patterns say what is wrong") {
  path_pattern p;
  std::string why;
  CHECK_FALSE(path_pattern::parse("generated_at", p, why));
  CHECK(why.find("starts with '$'") != std::string::npos);
  CHECK_FALSE(path_pattern::parse("$.items[", p, why));
  CHECK_FALSE(path_pattern::parse("$.items[abc]", p, why));
  CHECK_FALSE(path_pattern::parse("$..", p, why));
  CHECK_FALSE(path_pattern::parse("$.a.", p, why));
}
