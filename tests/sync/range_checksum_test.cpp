#include "banyan/sync/range_checksum.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <map>

namespace json = boost::json;
using namespace banyan;

namespace {

http::request get(const std::string& target) {
  http::request r;
  r.method = "GET";
  r.target = target;
  REQUIRE(http::parse_target(target, r.path, r.query));
  return r;
}

// An entity of rows keyed 1..n, read as an app's SQL would: key order, the range, the limit.
struct table {
  std::map<std::int64_t, json::object> rows;
  json::object ask(const std::string& query) {
    const auto res = sync::serve_range_checksum(get("/internal/checksum/things?" + query), "id",
                                                [&](const sync::checksum_query& q, int limit, const sync::row_visitor& each) {
                                                  int n = 0;
                                                  for (const auto& [k, row] : rows)
                                                    if (k > q.after.value_or(INT64_MIN) && k <= q.through.value_or(INT64_MAX) &&
                                                        n++ < limit)
                                                      each(k, row);
                                                });
    REQUIRE(res.status == 200);
    return json::parse(res.body).as_object();
  }
};

table make(int n) {
  table t;
  for (int i = 1; i <= n; ++i) t.rows[i] = json::object{{"id", i}, {"name", "row " + std::to_string(i)}, {"at", i * 10}};
  return t;
}

}  // namespace

TEST_CASE("range checksums: a range's sum, count, last row and whether rows are left", "[sync][verify]") {
  auto a = make(25), b = make(25);
  const auto whole = a.ask("limit=100");
  CHECK(whole.at("rows").as_int64() == 25);
  CHECK(whole.at("done").as_bool());
  CHECK(whole.at("last").as_string() == "25");
  CHECK(whole.at("key_field").as_string() == "id");
  CHECK(whole.at("checksum") == b.ask("limit=100").at("checksum"));
  // Pages: ten rows after 5, rows left after them.
  const auto page = a.ask("after=5&limit=10");
  CHECK(page.at("rows").as_int64() == 10);
  CHECK(page.at("last").as_string() == "15");
  CHECK_FALSE(page.at("done").as_bool());
  // A bound: the rows up to it, done within it.
  const auto bounded = a.ask("after=5&through=15&limit=100");
  CHECK(bounded.at("rows").as_int64() == 10);
  CHECK(bounded.at("done").as_bool());
  CHECK(bounded.at("checksum") == page.at("checksum"));
  // An empty range.
  const auto none = a.ask("after=25");
  CHECK(none.at("rows").as_int64() == 0);
  CHECK(none.at("last").is_null());
  CHECK(none.at("checksum").as_string() == "0000000000000000");
}

TEST_CASE("range checksums: one changed field changes its range's sum, ignored fields do not, rows=1 names each row",
          "[sync][verify]") {
  auto a = make(25), b = make(25);
  b.rows[12]["name"] = "changed";
  b.rows[20]["at"] = 0;
  CHECK(a.ask("through=10").at("checksum") == b.ask("through=10").at("checksum"));
  CHECK(a.ask("after=10&through=15").at("checksum") != b.ask("after=10&through=15").at("checksum"));
  CHECK(a.ask("after=15&through=25&ignore=at").at("checksum") == b.ask("after=15&through=25&ignore=at").at("checksum"));
  CHECK(a.ask("after=15&through=25").at("checksum") != b.ask("after=15&through=25").at("checksum"));
  const auto listed_a = a.ask("after=10&through=13&rows=1"), listed_b = b.ask("after=10&through=13&rows=1");
  REQUIRE(listed_a.at("items").as_array().size() == 3);
  CHECK(listed_a.at("items").at(0).at("key").as_string() == "11");
  CHECK(listed_a.at("items").at(0) == listed_b.at("items").at(0));
  CHECK(listed_a.at("items").at(1) != listed_b.at("items").at(1));  // 12
  // A missing row changes the count as well as the sum.
  b.rows.erase(3);
  CHECK(b.ask("through=10").at("rows").as_int64() == 9);
  // The fields rows are shown with (the verifier reads the same fields at PATH/KEY).
  CHECK(a.ask("limit=1").at("fields") == json::parse(R"(["id","name","at"])"));
}

TEST_CASE("range checksums: bad queries are 400 naming the parameter, checksums read back", "[sync][verify]") {
  for (const char* q : {"after=x", "through=1.5", "limit=0", "limit=100001", "rows=2"}) {
    const auto res = sync::serve_range_checksum(get(std::string("/internal/checksum/things?") + q), "id",
                                                [](const auto&, int, const auto&) {});
    INFO(q);
    CHECK(res.status == 400);
    CHECK(res.body.find(std::string(q).substr(0, std::string(q).find('='))) != std::string::npos);
  }
  CHECK(sync::parse_checksum_hex(sync::checksum_hex(0x0123456789abcdefull)) == 0x0123456789abcdefull);
  CHECK_FALSE(sync::parse_checksum_hex("123"));
  CHECK_FALSE(sync::parse_checksum_hex("0123456789abcdeg"));
}
