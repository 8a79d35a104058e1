// catalog-service's own change feed (issue 13: the reverse direction): every write through its API
// publishes one event in the write's transaction, in the protocol legacy-shop publishes, and
// nothing else does — not dry runs, not failed writes, not changes applied from the monolith's feed.
#include "catalog_sink.hpp"
#include "catalog_store.hpp"
#include "service_app.hpp"
#include "support/temp_dir.hpp"

#include "banyan/sync/feed.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace banyan;

namespace {

struct service {
  test::temp_dir dir;
  catalog::service_app app{[this] {
    catalog::service_options o;
    o.db_path = dir.file("catalog.db");
    return o;
  }()};

  http::response call(std::string method, std::string target, std::string body = {}, bool dry_run = false) {
    http::request r;
    r.method = std::move(method);
    r.target = target;
    REQUIRE(http::parse_target(target, r.path, r.query));
    r.body = std::move(body);
    r.body_framed = true;
    if (!r.body.empty()) r.headers.add("Content-Type", "application/json");
    if (dry_run) r.headers.add("X-Banyan-Shadow", "dry-run");
    r.request_id = "rid";
    return app.handle(r);
  }
  sync::feed_page feed(std::int64_t after = 0, int limit = 100) {
    const auto res = call("GET", sync::events_target(after, limit));
    REQUIRE(res.status == 200);
    auto page = sync::parse_feed_page(res.body);  // the follower's own parser reads it
    INFO(res.body);
    REQUIRE(page);
    return *page;
  }
};

std::string product_json(std::string_view sku, int price) {
  return R"({"sku":")" + std::string(sku) + R"(","name":"Lamp","description":"","category":"home","price_cents":)" +
         std::to_string(price) + R"(,"currency":"EUR"})";
}

}  // namespace

TEST_CASE("catalog feed: API writes publish one event each, in order, with the API's own JSON", "[catalog][feed]") {
  service s;
  CHECK(s.feed().head == 0);
  CHECK(s.feed().events.empty());
  const auto created = s.call("POST", "/api/products", product_json("L-1", 1000));
  REQUIRE(created.status == 201);
  const auto id = boost::json::parse(created.body).at("id").as_int64();
  REQUIRE(s.call("PUT", "/api/products/" + std::to_string(id), product_json("L-1", 1200)).status == 200);
  REQUIRE(s.call("DELETE", "/api/products/" + std::to_string(id)).status == 204);

  const auto page = s.feed();
  CHECK(page.head == 3);
  CHECK(page.next == 3);
  REQUIRE(page.events.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(page.events[i].id == static_cast<std::int64_t>(i + 1));
  CHECK(page.events[0].type == "product.created");
  CHECK(page.events[1].type == "product.updated");
  CHECK(page.events[2].type == "product.deleted");
  for (const auto& e : page.events) {
    CHECK(e.aggregate == "product");
    CHECK(e.key == std::to_string(id));
  }
  CHECK(boost::json::serialize(page.events[0].payload) == created.body);
  CHECK(page.events[1].payload.at("price_cents").as_int64() == 1200);
  CHECK(page.events[2].payload.at("sku").as_string() == "L-1");
  // Paging: after an id, at most `limit`.
  const auto rest = s.feed(1, 1);
  REQUIRE(rest.events.size() == 1);
  CHECK(rest.events[0].id == 2);
  CHECK(rest.next == 2);
  CHECK(rest.head == 3);
}

TEST_CASE("catalog feed: dry runs and failed writes publish nothing", "[catalog][feed]") {
  service s;
  REQUIRE(s.call("POST", "/api/products", product_json("D-1", 500), true).status == 201);  // dry run
  CHECK(s.feed().head == 0);
  REQUIRE(s.call("POST", "/api/products", product_json("D-1", 500)).status == 201);
  CHECK(s.call("POST", "/api/products", product_json("D-1", 600)).status == 409);  // the SKU is taken
  CHECK(s.call("PUT", "/api/products/999", product_json("X-1", 100)).status == 404);
  CHECK(s.call("DELETE", "/api/products/999").status == 404);
  CHECK(s.call("POST", "/api/products", R"({"sku":""})").status == 422);
  const auto page = s.feed();
  CHECK(page.head == 1);
  CHECK(page.events.size() == 1);
}

TEST_CASE("catalog feed: changes applied from the monolith's feed are not published again", "[catalog][feed]") {
  service s;
  catalog::catalog_sink sink;
  auto conn = s.app.db().acquire();
  sync::feed_event e;
  e.id = 1;
  e.type = "product.created";
  e.aggregate = "product";
  e.key = "7";
  e.payload = boost::json::parse(R"({"id":7,"sku":"M-7","name":"Mug","description":"","category":"kitchen",)"
                                 R"("price_cents":350,"currency":"EUR","updated_at":"2026-12-02T10:00:00.000Z"})");
  e.at = "2026-12-02T10:00:00.000Z";
  {
    sqlite::transaction tx(*conn);
    REQUIRE(sink.apply_event(*conn, e, sync::sync_phase::following).what == sync::apply_outcome::kind::applied);
    tx.commit();
  }
  CHECK(s.call("GET", "/api/products/7").status == 200);  // it is there
  CHECK(s.feed().head == 0);                              // and not echoed
}

TEST_CASE("catalog feed: bad positions are refused with the error shape", "[catalog][feed]") {
  service s;
  for (const char* target : {"/internal/events?after=-1", "/internal/events?after=x", "/internal/events?limit=0",
                             "/internal/events?limit=1001", "/internal/events?limit=2x"}) {
    INFO(target);
    const auto r = s.call("GET", target);
    CHECK(r.status == 400);
    CHECK(boost::json::parse(r.body).at("error").at("code").as_string() == "invalid_query");
  }
}

TEST_CASE("catalog ids: a deleted product's id is never handed out again", "[catalog][ids]") {
  service s;
  const auto a = s.call("POST", "/api/products", product_json("ID-1", 100));
  REQUIRE(a.status == 201);
  const auto first = boost::json::parse(a.body).at("id").as_int64();
  REQUIRE(s.call("DELETE", "/api/products/" + std::to_string(first)).status == 204);
  const auto b = s.call("POST", "/api/products", product_json("ID-2", 100));
  REQUIRE(b.status == 201);
  CHECK(boost::json::parse(b.body).at("id").as_int64() > first);
}
