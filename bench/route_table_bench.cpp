// Route decisions per second with a large table: 10,000 routes shaped like a real API surface
// (literal, parameter and prefix patterns, several methods), matched against a realistic mix of
// paths: hits at every depth, parameter captures, prefix fall-through and misses.
//
//   build/bin/route_table_bench [ROUTES] [LOOKUPS]
#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/route_table.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace banyan::proxy;

int main(int argc, char** argv) {
  const int route_count = argc > 1 ? std::atoi(argv[1]) : 10'000;
  const int lookups = argc > 2 ? std::atoi(argv[2]) : 5'000'000;
  std::vector<route> routes;
  for (int i = 0; routes.size() < static_cast<std::size_t>(route_count); ++i) {
    const std::string base = "/api/v" + std::to_string(i % 3 + 1) + "/svc" + std::to_string(i / 3);
    route r;
    r.service = "svc";
    r.mode = route_mode::service;
    r.id = "r" + std::to_string(routes.size());
    r.path = base + "/items";
    r.methods = {"GET"};
    routes.push_back(r);
    r.id = "r" + std::to_string(routes.size());
    r.path = base + "/items/{id}";
    r.methods = {"GET", "PUT", "DELETE"};
    routes.push_back(r);
    r.id = "r" + std::to_string(routes.size());
    r.path = base + "/**";
    r.methods = {};
    routes.push_back(r);
  }
  routes.resize(static_cast<std::size_t>(route_count));
  std::vector<route_error> errors;
  auto table = route_table::build(routes, errors);
  if (!table) {
    std::fprintf(stderr, "build failed: %s\n", errors.front().message.c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> requests;
  for (int i = 0; i < 4096; ++i) {
    const std::string base = "/api/v" + std::to_string(i % 3 + 1) + "/svc" + std::to_string((i * 7919) % (route_count / 9));  // 3 versions x 3 routes each
    switch (i % 5) {
      case 0: requests.emplace_back("GET", base + "/items?page=2"); break;
      case 1: requests.emplace_back("PUT", base + "/items/" + std::to_string(i)); break;
      case 2: requests.emplace_back("POST", base + "/items"); break;  // falls through to the prefix
      case 3: requests.emplace_back("GET", base + "/deep/nested/path/" + std::to_string(i)); break;
      default: requests.emplace_back("GET", "/legacy/page/" + std::to_string(i)); break;  // monolith
    }
  }
  std::size_t matched = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < lookups; ++i) {
    const auto& [method, path] = requests[static_cast<std::size_t>(i) & 4095];
    matched += table->match(method, path) != nullptr;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Canary bucketing, the other per-request decision.
  std::uint64_t sum = 0;
  const auto b_start = std::chrono::steady_clock::now();
  for (int i = 0; i < lookups; ++i) sum += bucket_of("catalog", requests[static_cast<std::size_t>(i) & 4095].second);
  const double b_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - b_start).count();

  std::printf("routes %d  lookups %d  matched %.1f%%\n", route_count, lookups, 100.0 * matched / lookups);
  std::printf("route decisions/s %.2fM  (%.0f ns each)\n", lookups / seconds / 1e6, seconds / lookups * 1e9);
  std::printf("bucket_of/s       %.2fM  (%.0f ns each)  [checksum %llu]\n", lookups / b_seconds / 1e6,
              b_seconds / lookups * 1e9, static_cast<unsigned long long>(sum % 10));
  return 0;
}
