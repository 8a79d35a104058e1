#include "banyan/shadow/recorder.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <filesystem>

using namespace banyan::shadow;
namespace json = boost::json;

namespace {

std::shared_ptr<const compare_rules> rules(banyan::proxy::compare_settings s = {}) {
  auto r = std::make_shared<compare_rules>();
  std::vector<std::string> problems;
  REQUIRE(compare_rules::compile(s, *r, problems));
  return r;
}

captured_response json_answer(int status, const std::string& body, double ms) {
  captured_response r;
  r.status = status;
  r.headers = {{"content-type", "application/json"}};
  r.body = body;
  r.seconds = ms / 1000.0;
  return r;
}

shadow_exchange exchange(const std::string& route, int i, const std::string& mono, const std::string& svc,
                         std::shared_ptr<const compare_rules> r) {
  shadow_exchange x;
  x.route = route;
  x.rules = std::move(r);
  x.at_ms = 1'795'000'000'000 + std::int64_t{i} * 1000;  // one per second
  x.request_id = "req-" + std::to_string(i);
  x.method = "GET";
  x.target = "/api/products/" + std::to_string(i);
  x.request_head = "GET /api/products/1 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer secret\r\n\r\n";
  x.monolith = json_answer(200, mono, 2);
  x.service = json_answer(200, svc, 3);
  return x;
}

const json::object& route_of(const json::object& report, const std::string& id) {
  for (const auto& r : report.at("routes").as_array())
    if (r.at("route").as_string() == id) return r.as_object();
  FAIL("route " << id << " not in the report: " << json::serialize(report));
  throw 0;
}

}  // namespace

TEST_CASE("the recorder compares, learns noise from monolith re-asks, and reports parity") {
  banyan::test::temp_dir dir;
  shadow_recorder rec(dir.file("banyan.db"));
  auto r = rules();
  for (int i = 0; i < 40; ++i) {
    const std::string stamp = std::to_string(i);
    auto x = exchange("detail", i, R"({"id":1,"price":100,"generated_at":"a)" + stamp + R"("})",
                      R"({"id":1,"price":)" + std::string(i < 10 ? "101" : "100") + R"(,"generated_at":"b)" + stamp + R"("})",
                      r);
    if (i % 5 == 0) x.monolith_again = json_answer(200, R"({"id":1,"price":100,"generated_at":"c"})", 2);
    REQUIRE(rec.submit(std::move(x)));
  }
  rec.count("detail", "skipped_writes", 3);
  report_options o;
  o.min_compared = 20;
  const auto report = rec.report(o);
  const auto& d = route_of(report, "detail");
  // generated_at differs between two monolith answers: noise, excluded. Price differs in 10 of 40.
  CHECK(d.at("parity").at("compared").to_number<std::int64_t>() == 40);
  CHECK(d.at("parity").at("matched").to_number<std::int64_t>() == 30);
  CHECK(d.at("parity").at("percent").as_double() == 75.0);
  CHECK(d.at("parity").at("enough").as_bool());
  const auto& paths = d.at("paths").as_array();
  REQUIRE(paths.size() == 1);
  CHECK(paths[0].at("path").as_string() == "$.price");
  CHECK(paths[0].at("count").to_number<std::int64_t>() == 10);
  const auto& samples = paths[0].at("samples").as_array();
  CHECK(samples.size() == 5);  // capped per path
  CHECK(samples[0].at("monolith").as_string() == "100");
  CHECK(samples[0].at("service").as_string() == "101");
  CHECK(std::string(samples[0].at("request").as_string()).find("Authorization: [redacted]") != std::string::npos);
  CHECK(std::string(samples[0].at("request").as_string()).find("secret") == std::string::npos);
  const auto& noise = d.at("noise").as_array();
  REQUIRE(noise.size() == 1);
  CHECK(noise[0].at("path").as_string() == "$.generated_at");
  CHECK(noise[0].at("seen").as_int64() == 8);
  CHECK(d.at("counts").at("skipped_writes").as_int64() == 3);
  CHECK(d.at("counts").at("noise_probes").as_int64() == 8);
  CHECK(d.at("status").at("2xx").at("2xx").to_number<std::int64_t>() == 40);
  // Latency comes from 10 %-wide histogram buckets.
  CHECK(d.at("latency_ms").at("monolith").at("p99").as_double() == Approx(2.0).epsilon(0.06));
  CHECK(d.at("latency_ms").at("service").at("p50").as_double() == Approx(3.0).epsilon(0.06));
  CHECK(d.at("latency_ms").at("service").at("count").as_int64() == 40);
  // Parity over a window: the last 30 comparisons all match; 35 takes 5 of the 10 that differ.
  o.window = 30;
  CHECK(route_of(rec.report(o), "detail").at("parity").at("percent").as_double() == 100.0);
  o.window = 35;
  CHECK(route_of(rec.report(o), "detail").at("parity").at("matched").as_int64() == 30);
  o.min_compared = 100;
  CHECK_FALSE(route_of(rec.report(o), "detail").at("parity").at("enough").as_bool());
}

TEST_CASE("a value a concurrent write changed once between two asks is not learned as noise") {
  banyan::test::temp_dir dir;
  auto r = rules();
  {
    shadow_recorder rec(dir.file("banyan.db"));
    // Every copy is also a probe; the monolith's stamp differs in every probe, its price in one
    // (an edit landed between the two asks). The service rounds the price: a real difference.
    for (int i = 0; i < 20; ++i) {
      const std::string stamp = std::to_string(i);
      auto x = exchange("detail", i, R"({"price":1299,"generated_at":"a)" + stamp + R"("})",
                        R"({"price":1300,"generated_at":"b)" + stamp + R"("})", r);
      x.monolith_again = json_answer(200, R"({"price":)" + std::string(i == 3 ? "1399" : "1299") + R"(,"generated_at":"c"})", 2);
      REQUIRE(rec.submit(std::move(x)));
    }
    report_options o;
    o.min_compared = 10;
    const auto report = rec.report(o);
    const auto& d = route_of(report, "detail");
    CHECK(d.at("parity").at("matched").as_int64() == 0);  // the price difference stays visible
    REQUIRE(d.at("paths").as_array().size() == 1);
    CHECK(d.at("paths").at(0).at("path").as_string() == "$.price");
    REQUIRE(d.at("noise").as_array().size() == 1);  // only the stamp
    CHECK(d.at("noise").at(0).at("path").as_string() == "$.generated_at");
  }
  // The recorder restarted judges new comparisons the same way, from the stored tallies.
  shadow_recorder again(dir.file("banyan.db"));
  auto x = exchange("detail", 30, R"({"price":1299,"generated_at":"a"})", R"({"price":1300,"generated_at":"b"})", r);
  REQUIRE(again.submit(std::move(x)));
  report_options o;
  o.min_compared = 10;
  CHECK(route_of(again.report(o), "detail").at("parity").at("matched").as_int64() == 0);
}

TEST_CASE("a comparison with a stale object is left out of parity and counted") {
  banyan::test::temp_dir dir;
  shadow_recorder rec(dir.file("banyan.db"));
  banyan::proxy::compare_settings s;
  s.version = "updated_at";
  auto r = rules(s);
  for (int i = 0; i < 30; ++i) {
    // One in three: the service answers an older version (it had not applied the edit yet).
    const bool behind = i % 3 == 0;
    auto x = exchange("detail", i, R"({"price":1299,"updated_at":"v2"})",
                      behind ? R"({"price":999,"updated_at":"v1"})" : R"({"price":1299,"updated_at":"v2"})", r);
    REQUIRE(rec.submit(std::move(x)));
  }
  report_options o;
  o.min_compared = 10;
  const auto report = rec.report(o);
  const auto& d = route_of(report, "detail");
  CHECK(d.at("parity").at("compared").to_number<std::int64_t>() == 20);
  CHECK(d.at("parity").at("percent").as_double() == 100.0);
  CHECK(d.at("counts").at("stale").as_int64() == 10);
  CHECK(d.at("paths").as_array().empty());
}

TEST_CASE("results survive a restart of the recorder") {
  banyan::test::temp_dir dir;
  auto r = rules();
  {
    shadow_recorder rec(dir.file("banyan.db"));
    rec.submit(exchange("list", 1, R"({"a":1})", R"({"a":2})", r));
    REQUIRE(rec.flush(std::chrono::seconds(5)));
  }
  shadow_recorder rec(dir.file("banyan.db"));
  const auto report = rec.report({});
  CHECK(route_of(report, "list").at("counts").at("compared").to_number<std::int64_t>() == 1);
  CHECK(route_of(report, "list").at("paths").at(0).at("path").as_string() == "$.a");
}

TEST_CASE("oversized and unanswered exchanges are counted, not compared") {
  banyan::test::temp_dir dir;
  shadow_recorder rec(dir.file("banyan.db"));
  auto r = rules();
  auto big = exchange("list", 1, "{}", "{}", r);
  big.service.too_large = true;
  rec.submit(std::move(big));
  auto down = exchange("list", 2, "{}", "{}", r);
  down.service = {};
  down.service.failure = "connection refused";
  rec.submit(std::move(down));
  rec.count("list", "too_large", 2);  // request bodies the data plane did not copy
  const auto report = rec.report({});
  const auto& d = route_of(report, "list");
  CHECK(d.at("counts").at("compared").to_number<std::int64_t>() == 0);
  CHECK(d.at("counts").at("too_large").to_number<std::int64_t>() == 3);
  CHECK(d.at("counts").at("no_answer").to_number<std::int64_t>() == 1);
  CHECK(d.at("parity").at("percent").is_null());
  CHECK(d.at("status").at("2xx").at("none").to_number<std::int64_t>() == 1);
}

TEST_CASE("a full queue drops exchanges and counts them") {
  banyan::test::temp_dir dir;
  recorder_options o;
  o.queue_capacity = 0;
  shadow_recorder rec(dir.file("banyan.db"), o);
  CHECK_FALSE(rec.submit(exchange("list", 1, "{}", "{}", rules())));
  CHECK(rec.totals().dropped == 1);
  CHECK(route_of(rec.report({}), "list").at("counts").at("dropped").as_int64() == 1);
}

TEST_CASE("an unwritable store keeps traffic figures in memory and says so") {
  banyan::test::temp_dir dir;
  shadow_recorder rec(dir.file("banyan.db"));
  {
    // Another writer holds the database lock past the busy timeout's patience.
    banyan::sqlite::connection other(dir.file("banyan.db"));
    other.set_busy_timeout(0);
    other.exec("BEGIN IMMEDIATE");
    rec.submit(exchange("list", 1, R"({"a":1})", R"({"a":1})", rules()));
    CHECK_FALSE(rec.flush(std::chrono::milliseconds(7000)));
    std::string why;
    CHECK_FALSE(rec.writable(why));
    CHECK(why.find("shadow results cannot be saved") == 0);
    CHECK(rec.totals().store_failures >= 1);
    other.exec("ROLLBACK");
  }
  REQUIRE(rec.flush(std::chrono::seconds(10)));
  std::string why;
  CHECK(rec.writable(why));
  CHECK(route_of(rec.report({}), "list").at("counts").at("compared").to_number<std::int64_t>() == 1);
}
