#include "banyan/verify/entity_diff.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace banyan::verify;

namespace {
boost::json::object row(std::string_view text) { return boost::json::parse(text).as_object(); }
}  // namespace

TEST_CASE("verify: checksums ignore member order and the fields told to", "[verify]") {
  const ignore_set none, updated{"updated_at"};
  CHECK(row_checksum(row(R"({"id":1,"a":{"x":1,"y":2}})"), none) == row_checksum(row(R"({"a":{"y":2,"x":1},"id":1})"), none));
  CHECK(row_checksum(row(R"({"id":1,"p":5})"), none) != row_checksum(row(R"({"id":1,"p":6})"), none));
  CHECK(row_checksum(row(R"({"id":1,"updated_at":"a"})"), updated) == row_checksum(row(R"({"id":1,"updated_at":"b"})"), updated));
  CHECK(row_checksum(row(R"({"id":1,"l":[1,2]})"), none) != row_checksum(row(R"({"id":1,"l":[2,1]})"), none));
  CHECK(canonical_text(row(R"({"b":1,"a":"x"})"), none) == R"({"a":"x","b":1})");
}

TEST_CASE("verify: keys from numbers or strings, ordered naturally", "[verify]") {
  CHECK(row_key(row(R"({"id":7})"), "id") == "7");
  CHECK(row_key(row(R"({"sku":"A-1"})"), "sku") == "A-1");
  CHECK_FALSE(row_key(row(R"({"id":1.5})"), "id"));
  CHECK_FALSE(row_key(row(R"({"x":1})"), "id"));
  CHECK(key_less("9", "10"));
  CHECK(key_less("10", "a"));
  CHECK(key_less("a", "b"));
}

TEST_CASE("verify: missing rows on either side and differing rows are told apart", "[verify]") {
  side_digest from, to;
  CHECK(from.add("1", 11));
  CHECK(from.add("2", 22));
  CHECK(from.add("3", 33));
  CHECK(from.add("10", 100));
  CHECK_FALSE(from.add("3", 33));  // listed twice
  to.add("1", 11);
  to.add("3", 99);
  to.add("4", 44);
  to.add("10", 100);
  const auto d = compare(from, to);
  CHECK(d.equal == 2);
  CHECK(d.missing_on_to == std::vector<std::string>{"2"});
  CHECK(d.missing_on_from == std::vector<std::string>{"4"});
  CHECK(d.differ == std::vector<std::string>{"3"});
  CHECK_FALSE(d.empty());
  side_digest a, b;
  a.add("1", 1);
  b.add("1", 1);
  CHECK(compare(a, b).empty());
}

TEST_CASE("verify: the differing fields are named with both values, absent ones said so", "[verify]") {
  const auto diffs = differing_fields(row(R"({"id":9,"price_cents":11199,"name":"Kettle","updated_at":"a"})"),
                                      row(R"({"id":9,"price_cents":1,"name":"Kettle","updated_at":"b","extra":true})"),
                                      ignore_set{"updated_at"});
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].field == "extra");
  CHECK(diffs[0].from == "absent");
  CHECK(diffs[0].to == "true");
  CHECK(diffs[1].field == "price_cents");
  CHECK(diffs[1].from == "11199");
  CHECK(diffs[1].to == "1");
}
