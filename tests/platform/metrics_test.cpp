#include "banyan/platform/metrics.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace banyan::metrics;

TEST_CASE("counters and gauges render in Prometheus text format", "[metrics]") {
  registry r;
  r.get_counter("requests_total", "Requests", {{"route", "/a"}, {"status", "200"}}).inc();
  r.get_counter("requests_total", "Requests", {{"route", "/a"}, {"status", "200"}}).inc(2);
  r.get_gauge("connections", "Open connections").set(5);
  const std::string text = r.render();
  CHECK(text.find("# HELP requests_total Requests\n# TYPE requests_total counter\n") != std::string::npos);
  CHECK(text.find("requests_total{route=\"/a\",status=\"200\"} 3\n") != std::string::npos);
  CHECK(text.find("# TYPE connections gauge\nconnections 5\n") != std::string::npos);
}

TEST_CASE("histograms are cumulative with +Inf, sum and count", "[metrics]") {
  registry r;
  auto& h = r.get_histogram("latency_seconds", "Latency", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = r.render();
  CHECK(text.find("latency_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("latency_seconds_sum 5.55\n") != std::string::npos);
  CHECK(text.find("latency_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("label values are escaped", "[metrics]") {
  CHECK(render_labels({{"path", "a\"b\\c\nd"}}) == "{path=\"a\\\"b\\\\c\\nd\"}");
}

TEST_CASE("invalid names and type clashes are refused", "[metrics]") {
  registry r;
  CHECK_THROWS_AS(r.get_counter("9bad", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.get_counter("ok", "x", {{"le", "1"}}), std::invalid_argument);
  r.get_counter("thing", "x");
  CHECK_THROWS_AS(r.get_gauge("thing", "x"), std::invalid_argument);
}

TEST_CASE("series references are stable and updates are thread-safe", "[metrics]") {
  registry r;
  auto& c = r.get_counter("hits_total", "Hits");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  for (int i = 0; i < 100; ++i) r.get_counter("other_total", "Other", {{"i", std::to_string(i)}});
  for (auto& t : threads) t.join();
  CHECK(&r.get_counter("hits_total", "Hits") == &c);
  CHECK(c.value() == 40000);
}

TEST_CASE("histograms merge counts gathered elsewhere", "[metrics]") {
  registry r;
  auto& h = r.get_histogram("merged_seconds", "Merged", {}, {0.1, 1});
  const std::uint64_t counts[] = {2, 0, 1};
  h.merge(counts, 3, 7.5);
  h.observe(0.5);
  CHECK(h.count() == 4);
  CHECK(h.sum() == 8.0);
  const auto text = r.render();
  CHECK(text.find("merged_seconds_bucket{le=\"1\"} 3\n") != std::string::npos);
  CHECK(text.find("merged_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
}
