// banyan-sync's map without a database: row images to payloads and back, keys, types.
#include "banyan/sync/data_map.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

using namespace banyan::sync;
namespace json = boost::json;

namespace {
aggregate_map items() {
  aggregate_map a;
  a.name = "item";
  a.table = "items";
  a.key = {"id"};
  a.fields = {{"id", "id", field_type::integer, {}},          {"name", "title", field_type::text, {}},
              {"price", "price_eur", field_type::real, {}},    {"active", "is_active", field_type::boolean, {}},
              {"tags", "labels", field_type::json, {}},        {"at", "made_at", field_type::timestamp, {}},
              {"note", "note", field_type::automatic, {}}};
  return a;
}
}  // namespace

TEST_CASE("map: a row image becomes the payload, typed by the map") {
  const auto row = json::parse(R"({"id":7,"title":"Lamp ☃","price_eur":12,"is_active":1,"labels":"[\"a\",1]",
                                   "made_at":"2026-12-03T10:00:00Z","note":null,"extra":"not mapped"})")
                       .as_object();
  const auto p = payload_of_row(items(), row);
  REQUIRE(p);
  CHECK(json::serialize(*p) ==
        R"({"id":7,"name":"Lamp ☃","price":1.2E1,"active":true,"tags":["a",1],"at":"2026-12-03T10:00:00Z","note":null})");
  CHECK(*key_of_row(items(), row) == "7");
  // Capture never refuses a row: a value its type does not describe goes as stored.
  const auto odd = json::parse(R"({"id":8,"title":1,"price_eur":"n/a","is_active":"yes","labels":"not json",
                                   "made_at":null,"note":2.5})")
                       .as_object();
  const auto q = payload_of_row(items(), odd);
  REQUIRE(q);
  CHECK(q->at("price").as_string() == "n/a");
  CHECK(q->at("tags").as_string() == "not json");
  CHECK_FALSE(payload_of_row(items(), json::parse(R"({"id":1})").as_object()));  // a mapped column missing
}

TEST_CASE("map: payload values become columns, or the apply stops saying which field and why") {
  const auto a = items();
  auto col = [&](const char* field, const char* value) { return column_of_payload(*a.by_field(field), json::parse(value)); };
  CHECK(*col("id", "42") == column_value::of(std::int64_t{42}));
  CHECK(*col("id", "42.0") == column_value::of(std::int64_t{42}));
  CHECK(*col("id", R"("42")") == column_value::of(std::int64_t{42}));
  CHECK(col("id", "4.5").error() == "id: 4.5E0 is not an integer");
  CHECK(col("id", R"("x")").error() == R"(id: "x" is not an integer)");
  CHECK(*col("price", "3") == column_value::of(3.0));
  CHECK_FALSE(col("price", R"("3")"));
  CHECK(*col("active", "true") == column_value::of(std::int64_t{1}));
  CHECK_FALSE(col("active", "2"));
  CHECK(*col("tags", R"({"b":[1,2]})") == column_value::of(std::string(R"({"b":[1,2]})")));
  CHECK(*col("name", "null") == column_value::of_null());
  CHECK_FALSE(col("name", "[1]"));
  CHECK(*col("note", "1.5") == column_value::of(1.5));
  CHECK(*col("note", R"("t")") == column_value::of(std::string("t")));
}

TEST_CASE("map: composite keys travel as a JSON array and come back as columns") {
  aggregate_map a;
  a.name = "price";
  a.table = "prices";
  a.key = {"region", "sku"};
  a.fields = {{"region", "region", field_type::text, {}}, {"sku", "sku", field_type::integer, {}},
              {"cents", "cents", field_type::integer, {}}};
  const auto row = json::parse(R"({"region":"EU","sku":42,"cents":100})").as_object();
  const auto key = key_of_row(a, row);
  REQUIRE(key);
  CHECK(*key == R"(["EU",42])");
  const auto cols = key_columns(a, *key);
  REQUIRE(cols);
  CHECK((*cols)[0] == column_value::of(std::string("EU")));
  CHECK((*cols)[1] == column_value::of(std::int64_t{42}));
  CHECK_FALSE(key_columns(a, "EU"));
  CHECK_FALSE(key_columns(a, R"(["EU"])"));
  CHECK_FALSE(key_of_row(a, json::parse(R"({"region":"EU","sku":null,"cents":1})").as_object()));
  // One key column: its value as text.
  CHECK(*key_columns(items(), "17") == std::vector<column_value>{column_value::of(std::int64_t{17})});
  CHECK_FALSE(key_columns(items(), "seventeen"));
}
