#pragma once
// The shadow recorder: takes captured exchanges from the mirror, compares them on its own thread,
// learns noise from monolith re-asks, and writes results to the store in batches. Nothing here
// runs on a request path: submit() only queues (or drops, counted, when the queue is full), and a
// store that cannot be written keeps results pending (bounded) while traffic goes on.
#include "banyan/evidence/evidence.hpp"
#include "banyan/shadow/compare.hpp"
#include "banyan/shadow/report.hpp"
#include "banyan/shadow/shadow_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace banyan::shadow {

// One request as both sides answered it, as the mirror captured it.
struct shadow_exchange {
  std::string route;
  std::shared_ptr<const compare_rules> rules;
  std::int64_t at_ms = 0;
  std::string request_id;
  std::string method;
  std::string target;
  std::string request_head;  // as sent to the copy's target
  captured_response monolith;
  captured_response service;
  std::optional<captured_response> monolith_again;  // a noise probe: the monolith asked twice
};

struct recorder_options {
  std::size_t queue_capacity = 4096;        // exchanges waiting for comparison
  std::size_t samples_per_path = 5;         // stored sample pairs per route and differing path
  std::int64_t retention_seconds = 30 * 24 * 3600;  // results kept this long
  std::size_t max_pending_rows = 100'000;    // result rows kept in memory while the store cannot be written
  std::size_t sample_body_bytes = 64 * 1024;
  std::chrono::milliseconds flush_interval{200};  // the recorder's tick
  std::size_t batch = 256;                         // or sooner, once this many exchanges wait
};

class shadow_recorder {
 public:
  // Opens the store (throws sqlite::error at startup, an edge) and starts the thread.
  shadow_recorder(const std::string& db_path, recorder_options options = {});
  ~shadow_recorder();
  shadow_recorder(const shadow_recorder&) = delete;
  shadow_recorder& operator=(const shadow_recorder&) = delete;

  // Queues an exchange for comparison; false (and counted as dropped) when the queue is full.
  bool submit(shadow_exchange&& x);
  // Adds to a route's counter (skipped_writes, dropped, too_large, no_answer, …).
  void count(const std::string& route, const std::string& name, std::int64_t n);
  // Adds live traffic (requests by upstream and status class, latency histograms by upstream).
  void record_traffic(std::map<traffic_key, std::int64_t> requests, std::map<latency_key, std::int64_t> latency);
  // The evidence gates are judged on, since `since_ms` (flushes first, briefly): per route, live
  // traffic by upstream, the monolith's latency before `since_ms` (from `baseline_from_ms`) and the
  // shadow report's figures. See build_evidence.
  evidence::evidence_doc evidence(std::int64_t since_ms, std::int64_t baseline_from_ms, std::size_t window,
                               std::size_t min_compared);
  // Waits until everything submitted before the call is compared and stored, or `timeout` passes.
  bool flush(std::chrono::milliseconds timeout);
  // The report over what is stored (flushes first, briefly).
  boost::json::object report(report_options options);
  // False with the reason while results cannot be saved.
  bool writable(std::string& why) const;

  struct figures {
    std::uint64_t compared = 0, matched = 0, dropped = 0, lost = 0, store_failures = 0;
  };
  figures totals() const;

 private:
  void run();
  void process(shadow_exchange& x);
  bool write_pending();

  recorder_options opt_;
  shadow_store store_;                 // the thread's connection
  std::unique_ptr<shadow_store> reader_;  // reports' connection (guarded by report_mutex_)
  std::mutex report_mutex_;

  mutable std::mutex mutex_;
  std::condition_variable wake_, flushed_;
  std::deque<shadow_exchange> queue_;
  std::map<std::pair<std::string, std::string>, std::int64_t> counts_in_;  // from count(), not yet taken
  std::map<traffic_key, std::int64_t> traffic_in_;                      // from record_traffic(), not yet taken
  std::map<latency_key, std::int64_t> traffic_latency_in_;
  std::uint64_t cycles_ = 0;  // completed take-compare-write cycles, for flush()
  int flush_requests_ = 0;
  bool stop_ = false;
  std::string store_error_;

  // The thread's own state.
  store_batch pending_;
  std::map<std::pair<std::string, std::string>, int> sample_counts_;
  // Per route: noise probes so far, and how many of them differed at each place (is_learned_noise).
  struct noise_tally {
    std::int64_t probes = 0;
    std::map<std::string, std::int64_t, std::less<>> differed;
    bool is_noise(std::string_view place) const {
      const auto it = differed.find(place);
      return it != differed.end() && is_learned_noise(it->second, probes);
    }
  };
  std::map<std::string, noise_tally> noise_;

  std::atomic<std::uint64_t> compared_{0}, matched_{0}, dropped_{0}, lost_{0}, store_failures_{0};
  std::thread thread_;
};

}  // namespace banyan::shadow
