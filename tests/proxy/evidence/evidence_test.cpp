// The evidence contract: what the proxy writes, the CLI reads back whole — through JSON text, as
// it travels — and a reader of an older or newer proxy's answer degrades to "absent", never throws.
#include "banyan/evidence/evidence.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace banyan::evidence;

namespace {
evidence_doc full_doc() {
  evidence_doc d;
  d.since_ms = 1'764'000'000'000;
  d.now_ms = 1'764'000'060'000;
  route_evidence shadowed;
  shadowed.requests = 1200;
  shadowed.monolith = {1000, 3, {1.5, 4.0, 12.25, 1000, {}}};
  shadowed.service = {200, 1, {2.0, 5.0, std::nullopt, 200, {}}};
  shadowed.monolith_baseline = {1.0, 3.0, 9.5, 86'000, {{10, 80'000}, {40, 6'000}}};
  shadow_figures sh;
  sh.parity = {99.75, 399, 400, 1000, 100, true};
  sh.counts = {{"compared", 400}, {"too_large", 2}, {"dropped", 0}};
  sh.copies = 402;
  sh.service_errors = 1;
  sh.monolith = {1.0, 2.0, 3.0, 400, {}};
  sh.service = {1.5, 2.5, 3.5, 399, {}};
  shadowed.shadow = sh;
  banyan::sync::sync_status st;
  st.source = "http://127.0.0.1:8081";
  st.entity = "product";
  st.state = "following";
  st.applied = 41;
  st.head = 42;
  st.lag_events = 1;
  st.lag_seconds = 0.25;
  st.backfill.phase = "done";
  st.backfill.rows_done = 10'000;
  st.backfill.rows_total = 10'000;
  shadowed.sync = sync_sample{"catalog", true, true, "", 1500, st};
  d.routes["catalog-reads"] = shadowed;

  route_evidence plain;  // no shadow, a service that never answered its sync status
  plain.requests = 5;
  plain.monolith = {5, 0, {1.0, 1.0, 1.0, 5, {}}};
  plain.sync = sync_sample{"catalog", true, false, "it publishes no sync status", 200, std::nullopt};
  d.routes["catalog-writes"] = plain;
  d.routes["quiet"] = route_evidence{};
  d.fleet = fleet_coverage{3, 2, {{"edge-3", "unreachable"}}};
  return d;
}
}  // namespace

TEST_CASE("evidence round-trips through JSON text") {
  const auto doc = full_doc();
  const std::string text = boost::json::serialize(to_json(doc));
  INFO(text);
  const auto back = parse_evidence(boost::json::parse(text).as_object());
  CHECK(back.routes.size() == 3);
  CHECK(back.routes.at("catalog-reads").shadow == doc.routes.at("catalog-reads").shadow);
  CHECK(back.routes.at("catalog-reads").sync == doc.routes.at("catalog-reads").sync);
  CHECK(back == doc);
}

TEST_CASE("evidence keeps the documented keys") {
  const auto o = to_json(full_doc());
  const auto& r = o.at("routes").at("catalog-reads").as_object();
  CHECK(r.at("monolith").at("latency_count").as_int64() == 1000);
  CHECK(r.at("service").at("p99").is_null());
  CHECK(r.at("shadow").at("parity").at("percent").as_double() == 99.75);
  CHECK(r.at("shadow").at("latency_ms").at("service").at("count").as_int64() == 399);
  CHECK(r.at("service_sync").at("status").at("state").as_string() == "following");
  CHECK(o.at("routes").at("quiet").at("shadow").is_null());
  CHECK_FALSE(o.at("routes").at("quiet").as_object().contains("service_sync"));
}

TEST_CASE("evidence from another version degrades to absent figures") {
  const auto doc = parse_evidence(boost::json::parse(R"({"routes":{
      "a":{"requests":"many","monolith":[],"shadow":{"parity":{"percent":"x"},"copies":3},
           "service_sync":{"service":"catalog","probed":true,"answered":true,"status":{"state":7}}},
      "b":17}})").as_object());
  REQUIRE(doc.routes.size() == 1);
  const auto& a = doc.routes.at("a");
  CHECK(a.requests == 0);
  CHECK(a.monolith == side_figures{});
  REQUIRE(a.shadow);
  CHECK_FALSE(a.shadow->parity.percent);
  CHECK(a.shadow->copies == 3);
  REQUIRE(a.sync);
  CHECK_FALSE(a.sync->answered);  // a status that does not parse is no answer, and says why
  CHECK_FALSE(a.sync->problem.empty());
  CHECK(parse_evidence(boost::json::object{}).routes.empty());
}

TEST_CASE("a fleet's evidence adds up: counts summed, latency from summed histograms, parity over the union") {
  auto instance = [](std::int64_t requests, std::int64_t errors, latency_histogram h, std::int64_t matched,
                     std::int64_t compared) {
    evidence_doc d;
    d.since_ms = 1000;
    d.now_ms = 2000 + requests;
    route_evidence r;
    r.requests = requests;
    r.service = {requests, errors, figures_of(h)};
    shadow_figures sh;
    sh.parity = {std::nullopt, matched, compared, 1000, 100, compared >= 100};
    sh.counts = {{"compared", compared}, {"too_large", 1}};
    sh.copies = compared;
    r.shadow = sh;
    d.routes["item"] = r;
    return d;
  };
  // Two quiet instances at 1 ms, one busy at 100 ms: the fleet's p99 is the busy one's, where an
  // average of the three p99s would say 34 ms.
  const int fast = latency_bucket(1.0), slow = latency_bucket(100.0);
  const auto a = instance(100, 0, {{fast, 100}}, 100, 100);
  const auto b = instance(100, 0, {{fast, 100}}, 90, 100);
  const auto c = instance(800, 40, {{slow, 800}}, 0, 0);
  const auto all = combine({a, b, c});
  const auto& r = all.routes.at("item");
  CHECK(r.requests == 1000);
  CHECK(r.service.requests == 1000);
  CHECK(r.service.errors == 40);  // c's breach is the fleet's: 4 %
  CHECK(r.service.latency.count == 1000);
  CHECK(r.service.latency.p99_ms == Approx(latency_bucket_ms(slow)).margin(0.001));
  CHECK(r.service.latency.p50_ms == Approx(latency_bucket_ms(slow)).margin(0.001));
  REQUIRE(r.shadow);
  CHECK(r.shadow->parity.matched == 190);
  CHECK(r.shadow->parity.compared == 200);
  CHECK(r.shadow->parity.percent == 95.0);
  CHECK(r.shadow->parity.enough);
  CHECK(r.shadow->counts.at("too_large").as_int64() == 3);
  CHECK(all.now_ms == 2800);
  // One instance's evidence combined is itself (its figures recomputed from its histograms).
  const auto one = combine({c});
  CHECK(one.routes.at("item").service.latency.p99_ms == c.routes.at("item").service.latency.p99_ms);
}

TEST_CASE("a histogram's figures: percentiles at bucket middles, none without samples") {
  const auto none = figures_of({});
  CHECK(none.count == 0);
  CHECK_FALSE(none.p50_ms);
  const auto f = figures_of({{latency_bucket(2.0), 98}, {latency_bucket(50.0), 2}});
  CHECK(f.count == 100);
  CHECK(*f.p50_ms == Approx(2.0).epsilon(0.06));
  CHECK(*f.p99_ms == Approx(50.0).epsilon(0.06));
}
