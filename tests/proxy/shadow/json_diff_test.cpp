#include "banyan/shadow/json_diff.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace banyan::shadow;

namespace {

std::vector<std::string> ignore_default;

std::vector<difference> diff_of(const std::string& a, const std::string& b, json_diff_options o = {}) {
  json_doc da, db;
  json_parse_error ea, eb;
  REQUIRE(da.parse(a, ea));
  REQUIRE(db.parse(b, eb));
  std::vector<difference> out;
  diff_json(da, db, o, out);
  return out;
}

path_pattern pattern(const std::string& text) {
  path_pattern p;
  std::string why;
  REQUIRE(path_pattern::parse(text, p, why));
  return p;
}

}  // namespace

TEST_CASE("equal documents have no differences, whatever the member order and spacing") {
  CHECK(diff_of(R"({"a":1,"b":[1,2,{"c":null}],"d":"x"})", R"({ "d" : "x", "b" : [1, 2, {"c": null}], "a" : 1 })").empty());
}

TEST_CASE("each difference names its path and kind") {
  const auto d = diff_of(R"({"id":7,"price":{"cents":1299},"name":"Mug","tags":["a"],"old":1})",
                         R"({"id":"7","price":{"cents":1300},"name":"Mug","tags":["a","b"],"new":2})");
  REQUIRE(d.size() == 5);
  CHECK(d[0].where == "$.id");
  CHECK(d[0].kind == diff_kind::type_changed);
  CHECK(d[0].monolith == "7");
  CHECK(d[0].service == "\"7\"");
  CHECK(d[1].where == "$.old");
  CHECK(d[1].kind == diff_kind::missing);
  CHECK(d[2].where == "$.price.cents");
  CHECK(d[2].kind == diff_kind::value_changed);
  CHECK(d[3].where == "$.tags");
  CHECK(d[3].kind == diff_kind::array_length);
  CHECK(d[3].monolith == "1 elements");
  CHECK(d[4].where == "$.new");
  CHECK(d[4].kind == diff_kind::extra);
  CHECK(d[4].service == "2");
}

TEST_CASE("array positions are aggregated under [*]") {
  const auto d = diff_of(R"({"items":[{"p":1},{"p":2}]})", R"({"items":[{"p":1},{"p":3}]})");
  REQUIRE(d.size() == 1);
  CHECK(d[0].where == "$.items[1].p");
  CHECK(d[0].aggregate == "$.items[*].p");
}

TEST_CASE("the same elements in another order are one order_only finding") {
  const auto d = diff_of(R"({"ids":[1,2,3]})", R"({"ids":[3,1,2]})");
  REQUIRE(d.size() == 1);
  CHECK(d[0].where == "$.ids");
  CHECK(d[0].kind == diff_kind::order_only);
  // ...but a changed element among moved ones is reported element by element.
  const auto changed = diff_of(R"([1,2,3])", R"([3,1,4])");
  CHECK(changed.size() == 3);
  CHECK(changed[0].kind == diff_kind::value_changed);
}

TEST_CASE("ignore rules take wildcards, recursive descent and bracketed names") {
  json_diff_options o;
  o.ignore = {pattern("$.items[*].updated_at"), pattern("$..request_id"), pattern("$['odd key']")};
  CHECK(diff_of(R"({"request_id":"a","items":[{"updated_at":1,"x":1}],"meta":{"request_id":"q"},"odd key":1})",
                R"({"request_id":"b","items":[{"updated_at":2,"x":1}],"meta":{"request_id":"r"},"odd key":2})", o)
            .empty());
  const auto d = diff_of(R"({"items":[{"updated_at":1,"x":1}]})", R"({"items":[{"updated_at":2,"x":2}]})", o);
  REQUIRE(d.size() == 1);
  CHECK(d[0].where == "$.items[0].x");
  // An ignored member that is missing on one side is not a difference either.
  CHECK(diff_of(R"({"request_id":"a"})", R"({})", o).empty());
  // Ignored fields do not stop a reorder being recognised.
  const auto moved = diff_of(R"({"items":[{"updated_at":1,"x":1},{"updated_at":1,"x":2}]})",
                             R"({"items":[{"updated_at":5,"x":2},{"updated_at":6,"x":1}]})", o);
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].kind == diff_kind::order_only);
}

TEST_CASE("numbers: numeric equality, exact big integers, tolerance") {
  CHECK(diff_of("[1.0, 0, 1e2, -0]", "[1, 0.0, 100, 0]").empty());
  // Beyond a double's precision: these two round to the same double but are different values.
  CHECK(diff_of("12345678901234567890123", "12345678901234567890124").size() == 1);
  CHECK(diff_of("12345678901234567890123", "12345678901234567890123").empty());
  json_diff_options o;
  o.tolerance = 0.01;
  CHECK(diff_of("[9.995]", "[10]", o).empty());
  CHECK(diff_of("[9.9]", "[10]", o).size() == 1);
  CHECK(numbers_equal("1e400", "1e400", 0));
}

TEST_CASE("unicode: escapes and raw UTF-8 compare equal, surrogate pairs decode") {
  CHECK(diff_of(R"({"name":"caf\u00e9","emoji":"\ud83d\ude00"})", "{\"name\":\"café\",\"emoji\":\"😀\"}").empty());
  CHECK(diff_of(R"({"caf\u00e9":1})", "{\"café\":1}").empty());
  const auto d = diff_of(R"({"name":"café"})", R"({"name":"cafe"})");
  REQUIRE(d.size() == 1);
  CHECK(d[0].monolith == "\"café\"");
  json_doc doc;
  json_parse_error e;
  CHECK_FALSE(doc.parse(R"(["\ud83d"])", e));
  CHECK(e.message == "lone surrogate in \\u escape");
}

TEST_CASE("duplicate keys: the last one counts, as in JavaScript") {
  CHECK(diff_of(R"({"a":1,"a":2})", R"({"a":2})").empty());
  const auto d = diff_of(R"({"a":1,"a":2})", R"({"a":1})");
  REQUIRE(d.size() == 1);
  CHECK(d[0].monolith == "2");
}

TEST_CASE("nested arrays and type changes between containers") {
  const auto d = diff_of(R"({"m":[[1,2],[3,[4,5]]]})", R"({"m":[[1,2],[3,[4,6]]]})");
  REQUIRE(d.size() == 1);
  CHECK(d[0].where == "$.m[1][1][1]");
  CHECK(d[0].aggregate == "$.m[*][*][*]");
  const auto t = diff_of(R"({"a":{"b":1}})", R"({"a":[1]})");
  REQUIRE(t.size() == 1);
  CHECK(t[0].kind == diff_kind::type_changed);
}

TEST_CASE("unordered arrays are matched by their key field") {
  json_diff_options o;
  o.unordered = {{pattern("$.items"), "id"}};
  CHECK(diff_of(R"({"items":[{"id":1,"q":1},{"id":2,"q":2}]})", R"({"items":[{"id":2,"q":2},{"id":1,"q":1}]})", o).empty());
  const auto d = diff_of(R"({"items":[{"id":1,"q":1},{"id":2,"q":2}]})", R"({"items":[{"id":3,"q":2},{"id":1,"q":5}]})", o);
  REQUIRE(d.size() == 3);
  CHECK(d[0].where == "$.items[id=1].q");
  CHECK(d[0].aggregate == "$.items[*].q");
  CHECK(d[1].where == "$.items[id=2]");
  CHECK(d[1].kind == diff_kind::missing);
  CHECK(d[2].where == "$.items[id=3]");
  CHECK(d[2].kind == diff_kind::extra);
}

TEST_CASE("nesting beyond the limit is a parse error, not a crash") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  json_doc d;
  json_parse_error e;
  CHECK_FALSE(d.parse(deep, e));
  CHECK(e.message == "nesting deeper than 256 levels");
  const std::string ok = std::string(200, '[') + std::string(200, ']');
  CHECK(d.parse(ok, e));
}

TEST_CASE("invalid JSON is reported with its offset") {
  json_doc d;
  json_parse_error e;
  CHECK_FALSE(d.parse(R"({"a":1,})", e));
  CHECK(e.offset == 7);
  CHECK_FALSE(d.parse(R"({"a":01})", e));
  CHECK_FALSE(d.parse("[1] x", e));
  CHECK(e.message == "unexpected data after the JSON value");
  CHECK_FALSE(d.parse("\"a\tb\"", e));
  CHECK_FALSE(d.parse("", e));
}

TEST_CASE("redaction hides values in differences and in stored documents") {
  json_diff_options o;
  o.redact = {pattern("$..email")};
  const auto d = diff_of(R"({"user":{"email":"a@x","n":1}})", R"({"user":{"email":"b@x","n":2}})", o);
  REQUIRE(d.size() == 2);
  CHECK(d[0].monolith == "\"[redacted]\"");
  CHECK(d[1].monolith == "1");
  json_doc doc;
  json_parse_error e;
  REQUIRE(doc.parse(R"({"user":{"email":"a@x","n":1},"list":[{"email":"c"}]})", e));
  CHECK(redacted_json(doc, o.redact, 1000) ==
        R"({"user":{"email":"[redacted]","n":1},"list":[{"email":"[redacted]"}]})");
}

TEST_CASE("a long reorder is still one order_only finding past max_differences") {
  std::string a = "[", b = "[";
  for (int i = 0; i < 200; ++i) {
    a += (i ? "," : "") + std::to_string(i);
    b += (i ? "," : "") + std::to_string(199 - i);
  }
  json_diff_options o;
  o.max_differences = 5;
  const auto d = diff_of(a + "]", b + "]", o);
  REQUIRE(d.size() == 1);
  CHECK(d[0].kind == diff_kind::order_only);
}

TEST_CASE("a comparison lists at most max_differences") {
  json_diff_options o;
  o.max_differences = 3;
  CHECK(diff_of("[1,2,3,4,5,6]", "[7,8,9,10,11,12]", o).size() == 3);
}

TEST_CASE("objects of different versions are stale, not compared, of the same version, compared") {
  json_diff_options o;
  o.version_member = "updated_at";
  // Product 2 was edited on the monolith and the service had not applied it yet: one stale finding
  // at its version, none for its price. Product 1 has the same version and a real difference.
  const auto d = diff_of(R"({"items":[{"id":1,"price":1299,"updated_at":"t1"},{"id":2,"price":500,"updated_at":"t3"}],"total":2})",
                         R"({"items":[{"id":1,"price":1300,"updated_at":"t1"},{"id":2,"price":450,"updated_at":"t2"}],"total":2})", o);
  REQUIRE(d.size() == 2);
  CHECK(d[0].where == "$.items[0].price");
  CHECK(d[0].kind == diff_kind::value_changed);
  CHECK(d[1].where == "$.items[1].updated_at");
  CHECK(d[1].aggregate == "$.items[*].updated_at");
  CHECK(d[1].kind == diff_kind::stale);
  CHECK(d[1].monolith == "\"t3\"");
  CHECK(d[1].service == "\"t2\"");
  // Without the setting, the same documents differ in both prices and the version.
  CHECK(diff_of(R"({"id":2,"price":500,"updated_at":"t3"})", R"({"id":2,"price":450,"updated_at":"t2"})").size() == 2);
  // An object without the member on one side is compared as usual.
  CHECK(diff_of(R"({"id":2,"price":500})", R"({"id":2,"price":450,"updated_at":"t2"})", o).size() == 2);
}
