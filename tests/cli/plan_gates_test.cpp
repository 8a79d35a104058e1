// banyan plan status and plan advance against a real proxy with real traffic: gates waiting,
// passing, and an injected error spike rolling a stage back, once and under --watch.
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_upstream.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

using namespace banyan::test;
namespace json = boost::json;

namespace {

std::vector<std::string> cli(const proxy_process& proxy, std::vector<std::string> verb) {
  std::vector<std::string> a{"--admin", "http://127.0.0.1:" + std::to_string(proxy.admin_port), "--token-file",
                             proxy.dir.file("state/admin.token"), "--as", "tester"};
  a.insert(a.end(), verb.begin(), verb.end());
  return a;
}

json::object status_json(const proxy_process& proxy, const temp_dir& dir) {
  auto r = run_banyan(cli(proxy, {"--output", "json", "plan", "status"}), dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return json::parse(r.out).as_object();
}

const json::object* gate_of(const json::object& status, const std::string& gate, const std::string& route) {
  for (const auto& g : status.at("gates").as_array())
    if (g.at("gate").as_string() == gate && g.at("route").as_string() == route) return &g.as_object();
  return nullptr;
}

// A plan over one route of the test upstreams: shadow, then cut-over; an error spike rolls back.
std::string plan_for(const std::string& service_url) {
  return "plan: fail-fast\n"
         "services:\n  svc: " + service_url + "\n"
         "routes:\n"
         "  - id: api\n"
         "    match: {methods: [GET], path: /fail}\n"
         "    service: svc\n"
         "stages:\n"
         "  - name: shadow\n"
         "    routes: {api: shadow}\n"
         "    gates: {min_requests: 10, no_traffic: wait}\n"
         "  - name: cut-over\n"
         "    routes: {api: service}\n"
         "    gates: {min_requests: 10, error_rate: 1%, no_traffic: wait}\n"
         "rollback: {on_breach: [error_rate], to: shadow}\n";
}

}  // namespace

TEST_CASE("plan status shows each gate against its threshold, advance moves only when all pass", "[cli][gates]") {
  temp_dir dir;
  shop_twins shop(dir);
  proxy_process proxy(dir, shop.monolith.url());
  std::ofstream(dir.file("plan.yaml"))
      << "plan: detail\n"
         "services:\n  catalog: " << shop.service.url() << "\n"
         "routes:\n"
         "  - id: product-detail\n"
         "    match: {methods: [GET], path: \"/api/products/{id}\"}\n"
         "    service: catalog\n"
         "stages:\n"
         "  - name: shadow\n"
         "    routes: {product-detail: shadow}\n"
         "    gates: {min_requests: 30, parity: 95%, error_rate: 1%, p99_ratio: 20, no_traffic: wait}\n"
         "  - name: canary\n"
         "    routes: {product-detail: {mode: canary, percent: 50}}\n"
         "    gates: {min_requests: 1000000}\n"
         "rollback: {on_breach: [error_rate], to: shadow}\n";
  REQUIRE(run_banyan(cli(proxy, {"plan", "apply", dir.file("plan.yaml"), "--reason", "start"}), dir).code == 0);

  // No traffic yet: the stage waits, and says so.
  auto text = run_banyan(cli(proxy, {"plan", "status"}), dir);
  INFO(text.out << text.err);
  CHECK(text.code == 0);
  CHECK(text.out.find("plan detail, stage shadow (1 of 2)") != std::string::npos);
  CHECK(text.out.find("no requests yet; the plan waits for traffic") != std::string::npos);
  auto early = run_banyan(cli(proxy, {"plan", "advance"}), dir);
  CHECK(early.code == 1);
  CHECK(early.err.find("stage shadow does not advance yet") != std::string::npos);

  for (int i = 0; i < 40; ++i)
    REQUIRE(http_call(proxy.port, "GET", "/api/products/" + std::to_string(i % 8 + 1)).status == 200);
  // The evidence arrives within a second or so (harvest, mirror, recorder).
  json::object st;
  eventually([&] {
    st = status_json(proxy, dir);
    return st.at("passed").as_bool();
  });
  INFO(json::serialize(st));
  REQUIRE(st.at("passed").as_bool());
  CHECK(gate_of(st, "min_requests", "product-detail")->at("measured").as_string() == "40");
  CHECK(gate_of(st, "parity", "product-detail")->at("value").as_double() == 100.0);  // noise learned, twins agree
  CHECK(gate_of(st, "error_rate", "product-detail")->at("state").as_string() == "pass");
  CHECK(gate_of(st, "p99_ratio", "product-detail")->at("state").as_string() == "pass");
  CHECK(st.at("next_stage").as_string() == "canary");

  // Evidence is kept per second: let the requests' second pass, so the next stage starts clean.
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  auto moved = run_banyan(cli(proxy, {"plan", "advance"}), dir);
  INFO(moved.err);
  CHECK(moved.code == 0);
  CHECK(moved.out == "plan detail: advanced to stage canary\n");
  const auto after = status_json(proxy, dir);
  CHECK(after.at("stage").as_string() == "canary");
  CHECK(gate_of(after, "min_requests", "product-detail") == nullptr);  // a new stage: its evidence starts over
  auto audit = json::parse(run_banyan(cli(proxy, {"--output", "json", "audit"}), dir).out);
  const auto& last = audit.at("entries").as_array().back();
  CHECK(last.at("action").as_string() == "plan.advance");
  CHECK(last.at("operator").as_string() == "tester");
  CHECK(last.at("reason").as_string() == "gates passed: every gate passes");
  CHECK(proxy.stop() == 0);
}

TEST_CASE("an injected error spike rolls the stage back automatically, once and under --watch", "[cli][gates]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  test_upstream service("service");  // answers /fail with 500
  proxy_process proxy(dir, monolith.url());
  std::ofstream(dir.file("plan.yaml")) << plan_for(service.url());
  REQUIRE(run_banyan(cli(proxy, {"plan", "apply", dir.file("plan.yaml"), "--stage", "cut-over"}), dir).code == 0);

  for (int i = 0; i < 20; ++i) CHECK(http_call(proxy.port, "GET", "/fail").status == 500);
  json::object st;
  eventually([&] {
    st = status_json(proxy, dir);
    return !st.at("breaches").as_array().empty();
  });
  REQUIRE(st.at("breaches").as_array().size() == 1);
  auto rolled = run_banyan(cli(proxy, {"plan", "advance"}), dir);
  INFO(rolled.out << rolled.err);
  CHECK(rolled.code == 1);
  CHECK(rolled.err.find("breach in stage cut-over: error_rate on api is 100.00 % (20 of 20)") != std::string::npos);
  CHECK(rolled.out == "plan fail-fast: rolled back to stage shadow\n");
  CHECK(status_json(proxy, dir).at("stage").as_string() == "shadow");
  auto audit = json::parse(run_banyan(cli(proxy, {"--output", "json", "audit"}), dir).out);
  const auto& last = audit.at("entries").as_array().back();
  CHECK(last.at("action").as_string() == "plan.rollback");
  CHECK(std::string(last.at("reason").as_string()).find("automatic rollback on breach: error_rate on api") == 0);

  // Under --watch: back at cut-over, the spike is seen on a later tick and rolled back again.
  REQUIRE(run_banyan(cli(proxy, {"plan", "apply", dir.file("plan.yaml"), "--stage", "cut-over"}), dir).code == 0);
  child_process watch([&] {
    auto a = cli(proxy, {"plan", "advance", "--watch", "--interval", "200ms"});
    a.insert(a.begin(), binary("banyan"));
    return a;
  }(), dir.file("watch.err"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 20; ++i) CHECK(http_call(proxy.port, "GET", "/fail").status == 500);
  std::string out;
  while (auto line = watch.read_line(std::chrono::seconds(20))) out += *line + "\n";
  INFO(out);
  CHECK(watch.wait(std::chrono::seconds(10)) == 1);
  CHECK(out.find("fail-fast @ cut-over") != std::string::npos);  // the live lines
  CHECK(out.find("  api") != std::string::npos);
  CHECK(out.find("rolled back to stage shadow") != std::string::npos);
  CHECK(status_json(proxy, dir).at("stage").as_string() == "shadow");
  CHECK(proxy.stop() == 0);
}

TEST_CASE("Ctrl-C stops plan advance --watch and changes nothing", "[cli][gates]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  test_upstream service("service");
  proxy_process proxy(dir, monolith.url());
  std::ofstream(dir.file("plan.yaml")) << plan_for(service.url());
  REQUIRE(run_banyan(cli(proxy, {"plan", "apply", dir.file("plan.yaml")}), dir).code == 0);
  child_process watch([&] {
    auto a = cli(proxy, {"plan", "advance", "--watch", "--interval", "200ms"});
    a.insert(a.begin(), binary("banyan"));
    return a;
  }(), dir.file("watch.err"));
  REQUIRE(watch.read_line(std::chrono::seconds(10)));  // it is watching
  watch.signal(SIGINT);
  std::string out;
  while (auto line = watch.read_line(std::chrono::seconds(10))) out += *line + "\n";
  CHECK(watch.wait(std::chrono::seconds(10)) == 1);
  CHECK(out.find("stopped watching; nothing was changed") != std::string::npos);
  CHECK(status_json(proxy, dir).at("stage").as_string() == "shadow");
  CHECK(proxy.stop() == 0);
}
