#include "banyan/report/render.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace banyan::report;

namespace {

// A report as the admin API returns it: one route below the threshold, one without enough data.
boost::json::object sample_report() {
  return boost::json::parse(R"({
    "generated_at_ms": 1795315486552, "since_ms": 0, "window": 1000,
    "routes": [
      {"route": "product-detail",
       "parity": {"percent": 91.67, "matched": 55, "compared": 60, "window": 1000, "min_compared": 50, "enough": true},
       "counts": {"compared": 60, "matched": 55, "too_large": 2, "no_answer": 1, "skipped_writes": 3, "dropped": 0,
                  "noise_probes": 24},
       "paths": [{"path": "$.price_cents", "count": 5, "share": 8.33, "kinds": ["value_changed"],
                  "samples": [{"at_ms": 1795315486552, "request_id": "r-1", "method": "GET",
                               "target": "/api/products/7?a=1&b=<2>", "where": "$.price_cents",
                               "kind": "value_changed", "monolith": "8899", "service": "8900",
                               "request": "GET /api/products/7 HTTP/1.1\n",
                               "monolith_response": "200\ncontent-type: application/json\n\n{\"price_cents\":8899}",
                               "service_response": "200\ncontent-type: application/json\n\n{\"price_cents\":8900}"}]},
                 {"path": "$.on_sale", "count": 1, "share": 1.67, "kinds": ["extra"],
                  "samples": [{"at_ms": 1795315486553, "request_id": "r-2", "method": "GET",
                               "target": "/api/products/8", "where": "$.on_sale", "kind": "extra",
                               "monolith": "", "service": "false", "request": "", "monolith_response": "",
                               "service_response": ""}]}],
       "noise": [{"path": "$.generated_at", "seen": 20, "probes": 24, "example": ["a", "b"],
                  "first_at_ms": 1, "last_at_ms": 2}],
       "status": {"2xx": {"2xx": 59, "5xx": 1}},
       "latency_ms": {"monolith": {"p50": 1.0, "p90": 2.0, "p99": 4.0, "count": 60},
                      "service": {"p50": 1.5, "p90": 3.0, "p99": 6.0, "count": 60}},
       "timeline": [{"at_ms": 1795315486552, "compared": 60, "matched": 55, "parity": 91.67}]},
      {"route": "quiet",
       "parity": {"percent": null, "matched": 0, "compared": 0, "window": 1000, "min_compared": 50, "enough": false},
       "counts": {"compared": 0, "matched": 0, "too_large": 0, "no_answer": 0, "skipped_writes": 0, "dropped": 0,
                  "noise_probes": 0},
       "paths": [], "noise": [], "status": {},
       "latency_ms": {"monolith": {"p50": null, "p90": null, "p99": null, "count": 0},
                      "service": {"p50": null, "p90": null, "p99": null, "count": 0}},
       "timeline": []}
    ]})").as_object();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("routes are judged against the parity threshold, too little data gives no verdict") {
  const auto v = judge(sample_report(), 99.0);
  REQUIRE(v.size() == 2);
  CHECK(v[0].result == verdict::kind::fail);
  CHECK(v[0].message == "parity 91.67 % is below 99.00 % (55 of 60 matched); most frequent difference: $.price_cents in 5 requests");
  CHECK(v[1].result == verdict::kind::not_enough_data);
  CHECK(judge(sample_report(), 90.0)[0].result == verdict::kind::pass);
}

TEST_CASE("text: parity, what was not compared, paths with an example, noise, status and latency") {
  const auto t = render_text(sample_report(), 99.0);
  CHECK(has(t, "product-detail  parity 91.67 % (55 of 60 compared)  BELOW 99.00 %"));
  CHECK(has(t, "not compared: 2 too large, 1 without an answer, 3 skipped writes, 0 dropped"));
  CHECK(has(t, "e.g. 8899 → 8900  (GET /api/products/7?a=1&b=<2>, request r-1)"));
  CHECK(has(t, "e.g. absent → false  (GET /api/products/8, request r-2)"));  // a field only the service has
  CHECK(has(t, "differed in 20 of 24 monolith re-asks"));
  CHECK(has(t, "2xx→5xx 1"));
  CHECK(has(t, "(p99 ×1.50)"));
  CHECK(has(t, "quiet  parity — (0 of 0 compared)  (not enough data: 0 compared, 50 needed for a verdict)"));
}

TEST_CASE("JUnit: a failure per route below the threshold, skipped without enough data, escaped XML") {
  const auto x = render_junit(sample_report(), 99.0);
  CHECK(has(x, R"(<testsuite name="shadow parity" tests="2" failures="1" skipped="1")"));
  CHECK(has(x, R"(<testcase classname="shadow" name="product-detail parity at least 99.00 %">)"));
  CHECK(has(x, R"(<failure message="parity 91.67 % is below 99.00 %)"));
  CHECK(has(x, "<skipped message=\"not enough data"));
}

TEST_CASE("HTML: self-contained, escaped, with samples side by side") {
  const auto h = render_html(sample_report(), 99.0);
  CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_FALSE(has(h, "http://"));  // nothing to fetch: no network needed to view it
  CHECK_FALSE(has(h, "https://"));
  CHECK(has(h, "/api/products/7?a=1&amp;b=&lt;2&gt;"));
  CHECK(has(h, "<div class=\"pair\">"));
  CHECK(has(h, "{&quot;price_cents&quot;:8900}"));
  CHECK(has(h, "<polyline points="));
  CHECK(has(h, "id=\"route-quiet\""));
}

TEST_CASE("HTML: the parity chart's axis spans the data, not the empty seconds after it") {
  auto report = sample_report();
  auto& route = report.at("routes").as_array().at(0).as_object();
  // Comparisons for two minutes, then the route left shadow: ten minutes more without any.
  boost::json::array timeline;
  for (int i = 0; i < 12; ++i)
    timeline.push_back(boost::json::object{{"at_ms", 1795315400000 + std::int64_t{i} * 60000},
                                           {"compared", i < 2 ? 50 : 0},
                                           {"matched", i < 2 ? 50 : 0},
                                           {"parity", i < 2 ? boost::json::value(100.0) : boost::json::value(nullptr)}});
  route["timeline"] = std::move(timeline);
  const auto h = render_html(report, 99.0);
  // The line runs from the left edge to the right one; the right label is the last data point's time.
  CHECK(h.find("points=\"0.0,0.0 600.0,0.0 \"") != std::string::npos);
  CHECK(h.find(">2026-11-22T02:44:20Z</text>") != std::string::npos);
  // The other route has compared nothing: its chart says so, rather than drawing an empty axis.
  const auto first = h.find("no comparisons yet");
  CHECK(first != std::string::npos);
  CHECK(h.find("no comparisons yet", first + 1) == std::string::npos);
}
