// catalog-service answers the catalog's API exactly as legacy-shop does: the same requests to both
// (in process, no sockets), the same statuses and bodies but for the volatile envelope.
#include "app/shop_app.hpp"
#include "catalog_sink.hpp"
#include "catalog_store.hpp"
#include "faults.hpp"
#include "seed/seed.hpp"
#include "service_app.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

using namespace banyan;

namespace {

struct both {
  test::temp_dir dir;
  shop::app monolith{dir.file("shop.db"), 2};
  catalog::service_app service{[this] {
    catalog::service_options o;
    o.db_path = dir.file("catalog.db");
    return o;
  }()};

  both() {
    auto m = monolith.db().acquire();
    shop::seed(*m);
    // What a backfill leaves: every product as the monolith has it.
    auto s = service.db().acquire();
    auto st = m->prepare("SELECT id, sku, name, description, category, price_cents, currency, updated_at FROM catalog_products");
    while (st.step())
      catalog::put(*s, {st.get_int64(0), st.get_text(1), st.get_text(2), st.get_text(3), st.get_text(4), st.get_int64(5),
                        st.get_text(6), st.get_text(7)});
  }

  static http::request make(std::string method, std::string target, std::string body = {}, bool dry_run = false) {
    http::request r;
    r.method = std::move(method);
    r.target = target;
    REQUIRE(http::parse_target(target, r.path, r.query));
    r.body = std::move(body);
    r.body_framed = !r.body.empty() || r.method == "GET" || r.method == "DELETE";
    if (!r.body.empty()) r.headers.add("Content-Type", "application/json");
    if (dry_run) r.headers.add("X-Banyan-Shadow", "dry-run");
    r.request_id = "rid-1";
    return r;
  }

  // Status and body of each side, the envelope and write timestamps left out.
  static std::string shape(const http::response& r) {
    std::string out = std::to_string(r.status) + " ";
    if (r.body.empty()) return out;
    auto v = boost::json::parse(r.body);
    if (auto* o = v.if_object()) {
      o->erase("generated_at");
      o->erase("updated_at");
      if (auto* items = o->if_contains("items"); items && items->is_array())
        for (auto& item : items->as_array()) item.as_object().erase("updated_at");
    }
    return out + boost::json::serialize(v);
  }

  // Both sides' answers to the same request, shaped for comparison (the callers CHECK them equal).
  std::pair<std::string, std::string> both_answers(const std::string& method, const std::string& target,
                                                   const std::string& body = {}, bool dry_run = false) {
    auto a = make(method, target, body, dry_run), b = make(method, target, body, dry_run);
    return {shape(monolith.handle(a)), shape(service.handle(b))};
  }
};

const std::string good = R"({"sku":"NEW-1","name":"Lamp","description":"","category":"home","price_cents":1999,"currency":"EUR"})";

}  // namespace

#define CHECK_SAME(t, ...)                                 \
  do {                                                     \
    const auto answers = (t).both_answers(__VA_ARGS__);    \
    INFO(#__VA_ARGS__);                                    \
    CHECK(answers.first == answers.second);                \
  } while (0)

TEST_CASE("catalog-service: reads answer as legacy-shop's do", "[catalog][parity]") {
  both t;
  for (const char* target :
       {"/api/products", "/api/products?page=2", "/api/products?page_size=100&page=3", "/api/products?category=kitchen",
        "/api/products?q=kettle", "/api/products?q=%25", "/api/products?q=DELUXE&category=kitchen&page_size=5",
        "/api/products?category=nothing", "/api/products?page=0", "/api/products?page_size=101", "/api/products?page=x",
        "/api/products/1", "/api/products/240", "/api/products/241", "/api/products/0", "/api/products/abc",
        "/api/products/-1", "/api/products/99999999999999999999"})
    CHECK_SAME(t, "GET", target);
  CHECK_SAME(t, "HEAD", "/api/products/7");
  CHECK_SAME(t, "PATCH", "/api/products/7", good);  // 405 with Allow
}

TEST_CASE("catalog-service: writes validate and fail as legacy-shop's do", "[catalog][parity]") {
  both t;
  CHECK_SAME(t, "POST", "/api/products", "{}");
  CHECK_SAME(t, "POST", "/api/products", R"({"sku":"bad sku","name":"","category":"x","price_cents":-1,"currency":"eur","color":"red"})");
  CHECK_SAME(t, "POST", "/api/products", R"({"sku":"AB","name":7,"description":null,"category":"x","price_cents":1.5,"currency":"EURO"})");
  CHECK_SAME(t, "POST", "/api/products", R"({"sku":"KIT-1007","name":"Dup","description":"","category":"x","price_cents":1,"currency":"EUR"})");
  CHECK_SAME(t, "POST", "/api/products", "[1]");
  CHECK_SAME(t, "POST", "/api/products", "{not json");
  CHECK_SAME(t, "PUT", "/api/products/99999", good);
  CHECK_SAME(t, "PUT", "/api/products/7", R"({"sku":"KIT-1008","name":"x","description":"","category":"x","price_cents":1,"currency":"EUR"})");
  CHECK_SAME(t, "DELETE", "/api/products/99999");
  // Dry runs answer as a commit would and change nothing on either side.
  CHECK_SAME(t, "POST", "/api/products", good, true);
  CHECK_SAME(t, "PUT", "/api/products/7", good, true);
  CHECK_SAME(t, "DELETE", "/api/products/8", {}, true);
  CHECK_SAME(t, "GET", "/api/products/7");
  CHECK_SAME(t, "GET", "/api/products/8");
  CHECK_SAME(t, "GET", "/api/products?page_size=100&page=3");
  // Real writes land alike.
  CHECK_SAME(t, "PUT", "/api/products/7", good);
  CHECK_SAME(t, "DELETE", "/api/products/8");
  CHECK_SAME(t, "GET", "/api/products/8");
  CHECK_SAME(t, "GET", "/api/products?category=home");
}

TEST_CASE("catalog-service: a dry-run create the sync already applied answers as the create did", "[catalog][shadow]") {
  both t;
  // The monolith commits the create and answers; the sync brings the product to the service
  // before the dry-run copy arrives there.
  auto create = both::make("POST", "/api/products", good);
  const auto real = t.monolith.handle(create);
  REQUIRE(real.status == 201);
  auto created = boost::json::parse(real.body).as_object();
  created.erase("generated_at");
  created.erase("request_id");
  {
    auto c = t.service.db().acquire();
    catalog::product applied;
    applied.id = created.at("id").as_int64();
    applied.sku = "NEW-1";
    applied.name = "Lamp";
    applied.category = "home";
    applied.price_cents = 1999;
    applied.currency = "EUR";
    applied.updated_at = std::string(created.at("updated_at").as_string());
    catalog::put(*c, applied);
  }
  auto copy = both::make("POST", "/api/products", good, true);
  const auto dry = t.service.handle(copy);
  CHECK(dry.status == 201);
  CHECK(both::shape(dry) == both::shape(real));
  // A SKU held by another product is still a conflict, dry run or not.
  const auto other = R"({"sku":"NEW-1","name":"Not the same","description":"","category":"home","price_cents":1,"currency":"EUR"})";
  auto clash = both::make("POST", "/api/products", other, true);
  CHECK(t.service.handle(clash).status == 409);
}

TEST_CASE("catalog-service: a dry-run delete the sync already applied answers as the delete did", "[catalog][shadow]") {
  both t;
  // The monolith deletes product 8 and answers 204; its feed's product.deleted reaches the service
  // (the follower waits at the feed: milliseconds) before the dry-run copy does.
  auto del = both::make("DELETE", "/api/products/8");
  REQUIRE(t.monolith.handle(del).status == 204);
  catalog::catalog_sink sink;
  {
    auto c = t.service.db().acquire();
    banyan::sync::feed_event e{1, "product.deleted", "product", "8", boost::json::object{{"id", 8}}, "2026-12-03T00:00:00Z"};
    REQUIRE(sink.apply_event(*c, e, banyan::sync::sync_phase::following).what == banyan::sync::apply_outcome::kind::applied);
  }
  auto copy = both::make("DELETE", "/api/products/8", {}, true);
  CHECK(t.service.handle(copy).status == 204);
  // A product the sync did not delete is still not found, dry run or not; so is a real delete.
  auto never = both::make("DELETE", "/api/products/99999", {}, true);
  CHECK(t.service.handle(never).status == 404);
  auto again = both::make("DELETE", "/api/products/8");
  CHECK(t.service.handle(again).status == 404);
}

TEST_CASE("catalog-service faults: only when asked, only the API, only the named category", "[catalog][faults]") {
  namespace json = boost::json;
  catalog::faults f;
  std::string why;
  CHECK_FALSE(f.any());
  CHECK_FALSE(catalog::parse_fault("round-prices", f, why));
  CHECK(why == "expected round-prices:CATEGORY or slow:DURATION (e.g. slow:2s), got 'round-prices'");
  CHECK_FALSE(catalog::parse_fault("slow:soon", f, why));
  CHECK_FALSE(catalog::parse_fault("explode:1", f, why));
  REQUIRE(catalog::parse_fault("round-prices:kitchen", f, why));
  CHECK(f.any());

  http::request req;
  req.method = "GET";
  req.path = "/api/products";
  http::response res;
  res.body = R"({"items":[{"id":1,"category":"kitchen","price_cents":1249},{"id":2,"category":"garden","price_cents":1249}],"total":2})";
  catalog::apply_faults(f, req, res);
  const auto list = json::parse(res.body);
  CHECK(list.at("items").at(0).at("price_cents").as_int64() == 1200);  // half up to whole units
  CHECK(list.at("items").at(1).at("price_cents").as_int64() == 1249);  // another category: untouched
  res.body = R"({"id":1,"category":"kitchen","price_cents":1250})";
  req.path = "/api/products/1";
  catalog::apply_faults(f, req, res);
  CHECK(json::parse(res.body).at("price_cents").as_int64() == 1300);
  // The sync and health endpoints are never touched: the service looks healthy while it is wrong.
  req.path = "/internal/snapshot/product";
  res.body = R"({"id":1,"category":"kitchen","price_cents":1250})";
  catalog::apply_faults(f, req, res);
  CHECK(json::parse(res.body).at("price_cents").as_int64() == 1250);
  // Writes answer as they are.
  req.path = "/api/products/1";
  req.method = "PUT";
  catalog::apply_faults(f, req, res);
  CHECK(json::parse(res.body).at("price_cents").as_int64() == 1250);
}
