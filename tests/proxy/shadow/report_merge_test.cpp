// A fleet's shadow report from its instances' reports (docs/fleet.md): what adds up is added, the
// rest kept — without the instances, on reports as build_report writes them.
#include "banyan/evidence/latency_histogram.hpp"
#include "banyan/shadow/report.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace banyan::shadow;
namespace json = boost::json;

namespace {
json::object report_of(const std::string& text) { return json::parse(text).as_object(); }

std::string instance_report(int matched, int compared, int bucket, int at_ms, const std::string& differing) {
  return R"({"generated_at_ms":)" + std::to_string(1000 + at_ms) + R"(,"since_ms":0,"window":1000,"routes":[{"route":"item",)"
         R"("parity":{"percent":null,"matched":)" + std::to_string(matched) + R"(,"compared":)" + std::to_string(compared) +
         R"(,"window":1000,"min_compared":100,"enough":false},)"
         R"("counts":{"compared":)" + std::to_string(compared) + R"(,"matched":)" + std::to_string(matched) +
         R"(,"too_large":1,"no_answer":0,"skipped_writes":0,"dropped":0,"noise_probes":2,"stale":0},)"
         R"("paths":[{"path":")" + differing + R"(","count":)" + std::to_string(compared - matched) +
         R"(,"share":0,"kinds":["value_changed"],"samples":[{"at_ms":)" + std::to_string(at_ms) + R"(}]}],)"
         R"("noise":[{"path":"$.served_at","seen":3}],"status":{"2xx":{"2xx":)" + std::to_string(compared) + R"(}},)"
         R"("latency_ms":{"monolith":{"p50":null,"p90":null,"p99":null,"count":0},)"
         R"("service":{"p50":1,"p90":1,"p99":1,"count":)" + std::to_string(compared) + R"(,"histogram":[[)" +
         std::to_string(bucket) + "," + std::to_string(compared) + R"(]]}},)"
         R"("timeline":[{"at_ms":)" + std::to_string(at_ms) + R"(,"compared":)" + std::to_string(compared) + R"(}]}]})";
}
}  // namespace

TEST_CASE("a fleet's shadow report: parity over every instance's comparisons, paths and latency added up") {
  const int fast = banyan::evidence::latency_bucket(1.0), slow = banyan::evidence::latency_bucket(80.0);
  const auto merged = merge_reports({report_of(instance_report(60, 60, fast, 30, "$.name")),
                                     report_of(instance_report(20, 60, slow, 10, "$.price")),
                                     report_of(instance_report(58, 60, fast, 20, "$.price"))});
  REQUIRE(merged.at("routes").as_array().size() == 1);
  const auto& r = merged.at("routes").at(0).as_object();
  CHECK(r.at("parity").at("matched").as_int64() == 138);
  CHECK(r.at("parity").at("compared").as_int64() == 180);
  CHECK(r.at("parity").at("percent").as_double() == 76.67);
  CHECK(r.at("parity").at("enough").as_bool());  // 180 ≥ 100, which no instance had alone
  CHECK(r.at("counts").at("too_large").as_int64() == 3);
  CHECK(r.at("status").at("2xx").at("2xx").as_int64() == 180);
  // $.price differed on two instances: one entry, counts added, both samples, share of all 180.
  const auto& paths = r.at("paths").as_array();
  REQUIRE(paths.size() == 2);
  CHECK(paths[0].at("path") == "$.price");
  CHECK(paths[0].at("count").as_int64() == 42);
  CHECK(paths[0].at("samples").as_array().size() == 2);
  CHECK(paths[0].at("share").as_double() == 23.33);
  CHECK(r.at("noise").as_array().size() == 1);
  // The service's p99 is the slow instance's, from the summed histogram.
  CHECK(r.at("latency_ms").at("service").at("count").as_int64() == 180);
  CHECK(r.at("latency_ms").at("service").at("p99").as_double() ==
        Approx(banyan::evidence::latency_bucket_ms(slow)).margin(0.001));
  // The timelines' slices in time order.
  const auto& t = r.at("timeline").as_array();
  REQUIRE(t.size() == 3);
  CHECK(t[0].at("at_ms").as_int64() == 10);
  CHECK(t[2].at("at_ms").as_int64() == 30);
  CHECK(merged.at("generated_at_ms").as_int64() == 1030);
}
