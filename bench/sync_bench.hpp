#pragma once
// sync_bench's shared parts (sync_bench.cpp, sync_bench_pg.cpp): temporary folders, percentiles,
// banyan-sync started from a configuration file.
#include "banyan/platform/child_process.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace banyan::bench {

using clock_type = std::chrono::steady_clock;

inline std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "banyan-sync-bench.XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp");
  return pattern;
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// For each write i (1…), how long after `written[i]` it was `seen[i]`, in ms; writes never seen
// are left out (the caller counts them).
inline std::vector<double> lags_ms(const std::vector<clock_type::time_point>& written,
                                   const std::vector<clock_type::time_point>& seen) {
  std::vector<double> ms;
  for (std::size_t i = 1; i < written.size() && i < seen.size(); ++i)
    if (seen[i] != clock_type::time_point{})
      ms.push_back(std::chrono::duration<double, std::milli>(seen[i] - written[i]).count());
  return ms;
}

struct server {
  std::unique_ptr<child_process> proc;
  std::string url;
  server(const std::string& bin, const std::string& config, const std::string& log) {
    proc = std::make_unique<child_process>(std::vector<std::string>{bin + "/banyan-sync", "--config", config}, log);
    const auto port = listening_port(*proc, std::chrono::seconds(20));
    if (!port) throw std::runtime_error("banyan-sync did not start: see " + log);
    url = "http://127.0.0.1:" + std::to_string(*port);
  }
  ~server() {
    proc->signal(SIGTERM);
    proc->wait(std::chrono::seconds(10));
  }
};


// The PostgreSQL modes (sync_bench_pg.cpp).
int postgres_bench(const std::string& bin, int rows, int rate, int seconds);

}  // namespace banyan::bench
