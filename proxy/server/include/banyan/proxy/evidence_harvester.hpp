#pragma once
// Passes what the data plane counts to the recorder, twice a second and off every worker: live
// traffic per route (requests by upstream and status class, latency histograms) and the shadow
// copies not taken (skipped writes, too large, dropped). The data plane only ever increments
// relaxed atomics; this thread turns their growth into per-second rows.
#include "banyan/proxy/routing_state.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banyan::shadow {
class shadow_recorder;
}

namespace banyan::proxy {

class evidence_harvester {
 public:
  evidence_harvester(routing_state& state, shadow::shadow_recorder& recorder,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~evidence_harvester();  // takes a last harvest
  evidence_harvester(const evidence_harvester&) = delete;
  evidence_harvester& operator=(const evidence_harvester&) = delete;

  // One harvest now (the thread calls it on its tick).
  void harvest();

 private:
  struct last_seen {
    std::vector<std::uint64_t> requests;  // by upstream kind × status class
    std::vector<std::uint64_t> latency;   // by upstream kind × fine bucket
    std::uint64_t latency_total = 0;
    std::uint64_t skipped_writes = 0, too_large = 0, dropped = 0;
  };
  routing_state& state_;
  shadow::shadow_recorder& recorder_;
  std::chrono::milliseconds interval_;
  std::map<std::string, last_seen> last_;  // by route id
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace banyan::proxy
