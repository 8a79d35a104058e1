// A fleet of proxies on etcd, measured (docs/fleet.md, docs/performance.md): how long a routing
// change takes to be in force on every instance, the write cut-over's hold with three instances
// against one proxy alone under steady writes, and what the instances ask of etcd at rest.
//
//   fleet_bench BIN_DIR [--changes 100] [--cutovers 20] [--rate 400]
//
// etcd (Debian's etcd-server) and the upstreams are started here, on loopback, like the tests'.
#include "banyan/platform/child_process.hpp"
#include "sync_bench.hpp"
#include "support/etcd_cluster.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

#include <boost/json/parse.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

using namespace banyan;
using namespace std::chrono_literals;
namespace json = boost::json;
using bench::clock_type;
using bench::percentile;

namespace {

const std::string token = "b3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nc";

struct proxy {
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0, admin_port = 0;
  proxy(const std::string& bin, const std::string& dir, const std::string& monolith, const std::string& etcd) {
    std::filesystem::create_directories(dir);
    const auto token_file = dir + "/token";
    std::ofstream(token_file) << token << "\n";
    std::filesystem::permissions(token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::ofstream(dir + "/proxy.yaml") << "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0, token_file: " << token_file
                                       << "}\nmonolith: " << monolith << "\nstate_dir: " << dir
                                       << "/state\naccess_log: off\nhealth_checks: {path: ''}\n"
                                       << (etcd.empty() ? "" : "etcd: {endpoints: '" + etcd + "', prefix: /bench}\n");
    proc = std::make_unique<child_process>(std::vector<std::string>{bin + "/banyan-proxy", "--config", dir + "/proxy.yaml"},
                                           dir + "/proxy.log");
    const auto p = listening_port(*proc, 20s);
    if (!p) throw std::runtime_error("banyan-proxy did not start: see " + dir + "/proxy.log");
    port = *p;
    const auto line = proc->read_line(10s);
    admin_port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  }
  test::http_reply admin(std::string_view method, std::string_view target, std::string_view body = {}) const {
    return test::http_call(admin_port, method, target, body,
                           {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  }
  std::int64_t revision() const {
    const auto r = test::http_call(admin_port, "GET", "/readyz");
    const auto v = json::parse(r.body);
    const auto* rev = v.as_object().if_contains("revision");
    return rev ? rev->as_int64() : 0;
  }
};

std::string routes(const std::string& service, const std::string& write_mode) {
  return R"({"routes":[{"id":"item","match":{"path":"/items/{id}","methods":["GET"]},"service":"items","mode":"shadow"},)"
         R"({"id":"item-write","match":{"path":"/items/{id}","methods":["PUT"]},"service":"items","mode":")" +
         write_mode + R"("}],"services":{"items":")" + service + R"("}})";
}

void print(const char* what, const std::vector<double>& ms) {
  std::printf("%-44s n=%-4zu p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what, ms.size(), percentile(ms, 0.5),
              percentile(ms, 0.99), percentile(ms, 1.0));
}

// Held milliseconds of `n` write cut-overs back and forth on `via`, while writers send `rate`
// writes/s through `all`.
struct holds {
  std::vector<double> held;        // until the writes were released
  std::vector<double> fleet_held;  // until every instance held them (a fleet only)
};

holds cutover_holds(const proxy& via, const std::vector<const proxy*>& all, int n, int rate) {
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::vector<std::thread> writers;
  const auto per_writer = std::chrono::microseconds(1'000'000 * static_cast<long>(all.size()) / rate);
  for (const proxy* p : all)
    writers.emplace_back([&, port = p->port] {
      auto next = clock_type::now();
      for (int i = 0; !stop; ++i) {
        const auto r = test::http_call(port, "PUT", "/items/" + std::to_string(i), "{}");
        if (r.status != 200) ++failed;
        next += per_writer;
        std::this_thread::sleep_until(next);
      }
    });
  std::this_thread::sleep_for(500ms);
  holds held;
  for (int i = 0; i < n; ++i) {
    const auto r = via.admin("POST", "/api/v1/routes/item-write/mode", i % 2 ? R"({"mode":"monolith"})" : R"({"mode":"service"})");
    if (r.status != 200) throw std::runtime_error("a cut-over failed: " + r.body);
    const auto answer = json::parse(r.body);
    const auto& cutover = answer.at("cutover").as_object();
    held.held.push_back(static_cast<double>(cutover.at("held_ms").as_int64()));
    if (const auto* f = cutover.if_contains("fleet_held_ms")) held.fleet_held.push_back(static_cast<double>(f->as_int64()));
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  for (auto& t : writers) t.join();
  if (failed) std::printf("  (%d writes failed)\n", failed.load());
  return held;
}

// etcd's count of requests by method (its Prometheus text at /metrics).
std::map<std::string, double> etcd_requests(const test::etcd_cluster& etcd) {
  const auto port = static_cast<std::uint16_t>(std::stoi(etcd.client_url(0).substr(etcd.client_url(0).rfind(':') + 1)));
  const auto text = test::http_call(port, "GET", "/metrics").body;
  std::map<std::string, double> out;
  const std::regex line(R"re(grpc_server_handled_total\{grpc_code="OK",grpc_method="(\w+)",grpc_service="[^"]+",grpc_type="[^"]+"\} ([0-9.e+]+))re");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it)
    out[(*it)[1]] += std::stod((*it)[2]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fleet_bench BIN_DIR [--changes N] [--cutovers N] [--rate WRITES_PER_S]\n";
    return 2;
  }
  const std::string bin = argv[1];
  int changes = 100, cutovers = 20, rate = 400;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--changes") changes = std::stoi(argv[i + 1]);
    else if (a == "--cutovers") cutovers = std::stoi(argv[i + 1]);
    else if (a == "--rate") rate = std::stoi(argv[i + 1]);
  }
  const std::string work = bench::temp_dir();
  test::etcd_cluster etcd(1);
  test::test_upstream old_app("old"), service("new");
  std::vector<std::unique_ptr<proxy>> fleet;
  for (int i = 0; i < 3; ++i) fleet.push_back(std::make_unique<proxy>(bin, work + "/p" + std::to_string(i), old_app.url(), etcd.endpoints()));
  if (fleet[0]->admin("PUT", "/api/v1/routes", routes(service.url(), "monolith")).status != 200) return 1;

  // 1. Propagation: from the change's answer on one instance to its revision in force on the others.
  std::vector<double> propagation;
  for (int i = 0; i < changes; ++i) {
    const auto& via = *fleet[static_cast<std::size_t>(i) % 3];
    const auto r = via.admin("POST", "/api/v1/routes/item/mode", i % 2 ? R"({"mode":"shadow"})" : R"({"mode":"service"})");
    const auto answered = clock_type::now();
    const auto rev = json::parse(r.body).at("routing").at("revision").as_int64();
    for (const auto& p : fleet) {
      if (p.get() == &via) continue;
      while (p->revision() < rev) std::this_thread::sleep_for(200us);
      propagation.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - answered).count());
    }
  }
  print("routing change in force on every instance", propagation);

  // 2. The write cut-over's hold: three instances on etcd against one proxy alone.
  const auto fleet_holds = cutover_holds(*fleet[0], {fleet[0].get(), fleet[1].get(), fleet[2].get()}, cutovers, rate);
  print(("cut-over hold, 3 instances, " + std::to_string(rate) + " writes/s").c_str(), fleet_holds.held);
  print("  of which until every instance held", fleet_holds.fleet_held);
  {
    proxy alone(bin, work + "/alone", old_app.url(), "");
    alone.admin("PUT", "/api/v1/routes", routes(service.url(), "monolith"));
    const auto single = cutover_holds(alone, {&alone}, cutovers, rate);
    print(("cut-over hold, one proxy, " + std::to_string(rate) + " writes/s").c_str(), single.held);
  }

  // 3. At rest: what the three instances ask of etcd per second.
  const auto before = etcd_requests(etcd);
  std::this_thread::sleep_for(30s);
  const auto after = etcd_requests(etcd);
  std::printf("etcd requests per instance per second at rest (30 s, 3 instances):");
  for (const auto& [method, n] : after) {
    const auto it = before.find(method);
    const double d = n - (it == before.end() ? 0 : it->second);
    if (d > 0) std::printf("  %s %.2f", method.c_str(), d / 30.0 / 3.0);
  }
  std::printf("\n");
  for (auto& p : fleet) p->proc->signal(SIGTERM);
  for (auto& p : fleet) p->proc->wait(15s);
  std::filesystem::remove_all(work);
  return 0;
}
