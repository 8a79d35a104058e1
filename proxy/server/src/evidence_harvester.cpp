#include "banyan/proxy/evidence_harvester.hpp"
#include "banyan/platform/clock.hpp"

#include "banyan/shadow/recorder.hpp"

namespace banyan::proxy {

evidence_harvester::evidence_harvester(routing_state& state, shadow::shadow_recorder& recorder,
                                       std::chrono::milliseconds interval)
    : state_(state), recorder_(recorder), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      harvest();
      lock.lock();
    }
  });
}

evidence_harvester::~evidence_harvester() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  harvest();
}

void evidence_harvester::harvest() {
  constexpr auto& kinds = route_stats::upstream_kind_names;
  constexpr auto& classes = route_stats::class_names;
  constexpr std::size_t k_count = route_stats::upstream_kinds, c_count = route_stats::classes,
                        b_count = route_stats::fine_buckets;
  const std::int64_t second = unix_seconds();
  std::map<shadow::traffic_key, std::int64_t> requests;
  std::map<shadow::latency_key, std::int64_t> latency;
  for (const auto& stats : state_.all_stats()) {
    if (stats->route_id.empty()) continue;  // unmatched requests are nobody's evidence
    auto& last = last_[stats->route_id];
    if (last.requests.empty()) {
      last.requests.assign(k_count * c_count, 0);
      last.latency.assign(k_count * b_count, 0);
    }
    auto delta = [](std::uint64_t now, std::uint64_t& seen) {
      const std::uint64_t d = now > seen ? now - seen : 0;
      seen = now;
      return static_cast<std::int64_t>(d);
    };
    if (const auto n = delta(stats->shadow_skipped_writes.load(std::memory_order_relaxed), last.skipped_writes))
      recorder_.count(stats->route_id, "skipped_writes", n);
    if (const auto n = delta(stats->shadow_too_large.load(std::memory_order_relaxed), last.too_large))
      recorder_.count(stats->route_id, "too_large", n);
    if (const auto n = delta(stats->shadow_dropped.load(std::memory_order_relaxed), last.dropped))
      recorder_.count(stats->route_id, "dropped", n);
    // Nothing new on this route since the last look: skip its ~500 counters.
    const std::uint64_t total = stats->latency_count[0].load(std::memory_order_relaxed) +
                                stats->latency_count[1].load(std::memory_order_relaxed);
    if (total == last.latency_total) continue;
    last.latency_total = total;
    for (std::size_t k = 0; k < k_count; ++k) {
      for (std::size_t c = 0; c < c_count; ++c) {
        std::uint64_t now = 0;
        for (std::size_t m = 0; m < route_stats::modes; ++m)
          now += stats->requests[(m * k_count + k) * c_count + c].load(std::memory_order_relaxed);
        if (const auto n = delta(now, last.requests[k * c_count + c]))
          requests[{stats->route_id, second, kinds[k], classes[c]}] += n;
      }
      for (std::size_t b = 0; b < b_count; ++b)
        if (const auto n = delta(stats->latency_fine[k * b_count + b].load(std::memory_order_relaxed),
                                 last.latency[k * b_count + b]))
          latency[{stats->route_id, second, kinds[k], static_cast<int>(b)}] += n;
    }
  }
  if (!requests.empty() || !latency.empty()) recorder_.record_traffic(std::move(requests), std::move(latency));
}

}  // namespace banyan::proxy
