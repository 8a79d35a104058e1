#pragma once
// What the data plane routes with, shared by every worker and replaced whole by the admin plane:
// an immutable snapshot (route table + the upstream each route's service resolves to), swapped
// atomically. A request keeps the snapshot it started with until it finishes.
#include "banyan/proxy/route_table.hpp"
#include "banyan/sync/sync_status.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace banyan::shadow {
struct compare_rules;
}

namespace banyan::proxy {

struct breaker_settings {
  int failure_threshold = 5;      // consecutive failures that open the circuit
  std::int64_t open_ms = 5000;    // how long it stays open before one probe is let through
  double error_rate = 0.5;        // ...or this share of failures within one window
  int min_requests = 20;          // ...once the window has seen this many requests
  std::int64_t window_ms = 10000;
};

// Circuit breaker shared by all workers (lock-free): opens on consecutive failures, or on the
// error rate of a rolling window, whichever comes first; after open_ms one probe may pass.
class circuit_breaker {
 public:
  enum class state { closed, open, half_open };
  using settings = breaker_settings;
  explicit circuit_breaker(settings s = {}) : settings_(s) {}
  // True when a request may go to the upstream now (in half-open, only the one probe may).
  bool allow(std::int64_t now_ms) noexcept;
  void on_success(std::int64_t now_ms) noexcept;
  void on_failure(std::int64_t now_ms) noexcept;
  state current(std::int64_t now_ms) const noexcept;

 private:
  // Counts into the current window, starting a new one when it has passed.
  void count(std::int64_t now_ms, bool failed) noexcept;
  void open(std::int64_t now_ms) noexcept;

  settings settings_;
  std::atomic<std::int64_t> window_start_{0};
  std::atomic<int> window_requests_{0};
  std::atomic<int> window_failures_{0};
  std::atomic<int> failures_{0};
  std::atomic<std::int64_t> opened_at_{-1};  // -1: closed
  std::atomic<bool> probing_{false};
};

// How many connections the data plane holds open to one upstream, across all workers (pooled ones
// included), against a cap shared by every worker. Lock-free; `limit` 0 means no cap.
class connection_budget {
 public:
  // Takes a slot for a new connection; false when `limit` connections are open.
  bool try_acquire(std::uint32_t limit) noexcept {
    if (limit == 0) {
      open_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    std::uint32_t n = open_.load(std::memory_order_relaxed);
    while (n < limit)
      if (open_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
    return false;
  }
  // Gives back the slot of a connection that was closed.
  void release() noexcept { open_.fetch_sub(1, std::memory_order_acq_rel); }
  std::uint32_t open() const noexcept { return open_.load(std::memory_order_relaxed); }

  // Requests waiting for a slot (any worker): a worker with idle pooled connections closes them
  // rather than keep slots another worker's requests are queued for.
  std::atomic<std::uint32_t> waiting{0};
  // Requests answered 503 (or sent to the monolith) because no slot freed within the queue timeout.
  std::atomic<std::uint64_t> saturated{0};

 private:
  std::atomic<std::uint32_t> open_{0};
};

struct upstream {
  std::uint32_t id = 0;  // index into each worker's connection pools
  std::string name;      // "monolith" or a service name
  std::string url;       // as configured, e.g. http://127.0.0.1:8081
  std::string host;      // numeric address after resolution
  std::uint16_t port = 0;
  std::string authority;  // host[:port] as the URL spells it: the Host for requests that came without one
  circuit_breaker breaker;
  std::atomic<bool> healthy{true};  // from active health checks; a new upstream is trusted
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> failures{0};
  connection_budget connections;  // the data plane's open connections to it

  // The service's data sync as its GET /internal/sync last said (sampled with the health checks;
  // read by the evidence for sync_lag gates). Off the request path: a mutex is fine.
  struct sync_sample {
    bool probed = false;    // asked at least once
    bool answered = false;  // answered with a sync status
    std::string problem;    // why not: 404 (no sync), unreachable, malformed
    sync::sync_status status;
    std::int64_t sampled_ms = 0;  // Unix ms
  };
  void set_sync(sync_sample s) {
    std::lock_guard lock(sync_mutex_);
    sync_ = std::move(s);
  }
  sync_sample sync() const {
    std::lock_guard lock(sync_mutex_);
    return sync_;
  }

  upstream(std::uint32_t i, std::string n, std::string u, std::string h, std::uint16_t p, breaker_settings b = {})
      : id(i),
        name(std::move(n)),
        url(std::move(u)),
        host(std::move(h)),
        port(p),
        authority(authority_of(url)),
        breaker(b) {}

  // "http://a:1/x" → "a:1".
  static std::string authority_of(std::string_view url) {
    if (const auto at = url.find("://"); at != std::string_view::npos) url.remove_prefix(at + 3);
    return std::string(url.substr(0, url.find_first_of("/?#")));
  }

 private:
  mutable std::mutex sync_mutex_;
  sync_sample sync_;
};

// Per-route traffic figures, kept across routing changes (looked up by route id) and updated
// lock-free from every worker; rendered as Prometheus text on scrape.
struct route_stats {
  static constexpr std::size_t modes = 4;          // route_mode
  static constexpr std::size_t upstream_kinds = 2;  // 0 monolith, 1 service
  static constexpr std::size_t classes = 6;         // 0: no response (proxy error), 1..5: 1xx..5xx
  // Their names in metrics and evidence.
  static constexpr std::array<const char*, upstream_kinds> upstream_kind_names{"monolith", "service"};
  static constexpr std::array<const char*, classes> class_names{"error", "1xx", "2xx", "3xx", "4xx", "5xx"};
  static constexpr std::array<double, 12> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,   0.5,   1,     5};
  explicit route_stats(std::string id) : route_id(std::move(id)) {}
  void record(route_mode mode, bool service, int status, double seconds) noexcept;
  // A safe request whose service was asked and failed, and that the monolith then answered
  // (fallback): the client saw an answer, but the service's failure counts as its error all the
  // same, or an error_rate gate would never see a service that fails behind the fallback.
  void record_masked_failure(route_mode mode) noexcept {
    requests[(static_cast<std::size_t>(mode) * upstream_kinds + 1) * classes].fetch_add(1, std::memory_order_relaxed);
  }

  std::string route_id;
  std::array<std::atomic<std::uint64_t>, modes * upstream_kinds * classes> requests{};
  std::array<std::atomic<std::uint64_t>, upstream_kinds*(bounds.size() + 1)> latency_buckets{};
  std::array<std::atomic<std::uint64_t>, upstream_kinds> latency_count{};
  std::array<std::atomic<std::uint64_t>, upstream_kinds> latency_sum_us{};
  // The same latencies in fine log-scale buckets (shadow/latency_buckets.hpp), for gates' p99.
  static constexpr std::size_t fine_buckets = 251;
  std::array<std::atomic<std::uint64_t>, upstream_kinds * fine_buckets> latency_fine{};
  // Shadow copies: taken, and not taken because of the route's write policy, a body over the
  // compare limit, or a full mirror queue. Cumulative; the mirror passes increments to the recorder.
  std::atomic<std::uint64_t> shadow_copied{0};
  std::atomic<std::uint64_t> shadow_skipped_writes{0};
  std::atomic<std::uint64_t> shadow_too_large{0};
  std::atomic<std::uint64_t> shadow_dropped{0};
  // The write cut-over barrier (cutover_barrier.hpp, write_cutover.hpp). A write counts itself in
  // flight before it looks whether it is held, and the barrier sets the hold before it counts
  // (both sequentially consistent), so either the barrier sees the write or the write sees the
  // hold: none slips to the old owner unseen.
  std::atomic<std::uint32_t> writes_in_flight{0};   // routed by this route, not yet finished
  std::atomic<std::int64_t> writes_held_until{0};   // steady ms a barrier may hold writes until; 0: none
  std::atomic<std::uint64_t> writes_held{0};        // writes that waited for a barrier, cumulative
};

struct routing_snapshot {
  std::shared_ptr<const route_table> table;
  std::shared_ptr<upstream> monolith;
  std::vector<std::shared_ptr<upstream>> service_of;  // parallel to table->routes(); null for monolith-only
  std::map<std::string, std::string> services;        // name → URL, as given
  std::vector<std::shared_ptr<route_stats>> stats_of;  // parallel to table->routes()
  std::vector<std::shared_ptr<const shadow::compare_rules>> rules_of;  // parallel: compiled compare rules
  std::shared_ptr<route_stats> unmatched;              // requests no route matched, and refused ones
  std::uint64_t version = 0;
  // The shared state's revision this routing was read at (a fleet: etcd's mod_revision of the
  // state key, docs/fleet.md); 0 on one machine.
  std::int64_t state_revision = 0;
};

// http://HOST[:PORT] → numeric host and port (getaddrinfo; off the request path). False with why.
bool resolve_upstream_url(const std::string& url, std::string& host, std::uint16_t& port, std::string& why);
// Whether two upstream URLs reach the same listener: the same port, and the same numeric host or
// both on loopback (127.0.0.1 and localhost, which may resolve to ::1, are one machine).
bool same_listener(const std::string& a, const std::string& b);

class routing_state {
 public:
  routing_state() = default;
  // Every upstream's circuit breaker opens and closes by `breakers` (the config's circuit_breaker).
  explicit routing_state(breaker_settings breakers) : breakers_(breakers) {}

  std::shared_ptr<const routing_snapshot> load() const noexcept { return current_.load(std::memory_order_acquire); }
  // The version of the snapshot in force. A write that took its snapshot before a barrier
  // switched sees a newer version here (commit stores it before the barrier releases) and is
  // routed again rather than sent to the old owner.
  std::uint64_t live_version() const noexcept { return live_version_.load(); }

  // The one upstream object for a name+URL (kept for the process lifetime so pooled connections stay
  // valid). Throws std::invalid_argument when the URL is not http://HOST:PORT or cannot be resolved.
  std::shared_ptr<upstream> upstream_for(const std::string& name, const std::string& url);
  std::vector<std::shared_ptr<upstream>> upstreams() const;
  // Every route's figures seen so far (also of routes since removed), unmatched first.
  std::vector<std::shared_ptr<route_stats>> all_stats() const;
  // One route's figures (created when first asked for), kept across routing changes.
  std::shared_ptr<route_stats> stats_for(const std::string& route_id);

  // Validates routes against the services and resolves every URL, without installing anything:
  // nullptr with the errors when something is wrong.
  std::shared_ptr<routing_snapshot> prepare(std::vector<route> routes, const std::map<std::string, std::string>& services,
                                            const std::string& monolith_url, std::vector<route_error>& errors);
  // Makes a prepared snapshot the live one (numbering it). A snapshot of a shared state's revision
  // no newer than the one in force is not installed (false): two paths (the change this instance
  // made, the watch that reports it) may bring the same revision, and routing never goes back.
  bool commit(std::shared_ptr<routing_snapshot> snap);
  // The shared state's history started again (a fleet's etcd replaced by another cluster): its
  // revisions count from 1 again, and the next snapshot is installed whatever its revision.
  void forget_state_revision();
  // Where an owner's change feed and sync status are served when not by the app itself (the
  // config's `data:`; banyan-sync attached to its database), by owner ("monolith" or a service's
  // name). Set once, before anything reads it.
  void set_data_urls(std::map<std::string, std::string> urls) { data_urls_ = std::move(urls); }
  // The URL whose /internal/events and /internal/sync speak for `owner`'s data: its data URL, else
  // the app's own URL in `snap`; empty when the owner is unknown.
  std::string data_url(const std::string& owner, const routing_snapshot& snap) const;
  const std::map<std::string, std::string>& data_urls() const noexcept { return data_urls_; }

  // A fleet's instance may forward writes only while its lease may still be alive at etcd
  // (fleet_rules.hpp: lease_trust_deadline): past that, another instance may have moved a route's
  // writes without this one seeing the hold. Reads are served all the same. steady_ms; never set
  // on one machine.
  void set_write_deadline(std::int64_t steady_ms_until) noexcept { write_deadline_.store(steady_ms_until); }
  bool writes_allowed(std::int64_t now_steady_ms) const noexcept {
    const auto until = write_deadline_.load(std::memory_order_relaxed);
    return until == no_write_deadline || now_steady_ms < until;
  }
  bool has_write_deadline() const noexcept { return write_deadline_.load(std::memory_order_relaxed) != no_write_deadline; }
  static constexpr std::int64_t no_write_deadline = INT64_MAX;

  // prepare + commit.
  bool install(std::vector<route> routes, const std::map<std::string, std::string>& services,
               const std::string& monolith_url, std::vector<route_error>& errors);

 private:
  void store(std::shared_ptr<const routing_snapshot> s) noexcept;
  std::atomic<std::shared_ptr<const routing_snapshot>> current_;
  std::atomic<std::uint64_t> live_version_{0};
  std::atomic<std::int64_t> write_deadline_{no_write_deadline};
  mutable std::mutex mutex_;

  breaker_settings breakers_;
  std::map<std::string, std::string> data_urls_;
  std::vector<std::shared_ptr<upstream>> upstreams_;
  std::map<std::string, std::shared_ptr<route_stats>> stats_;
  std::uint64_t version_ = 0;
  std::int64_t revision_floor_ = 0;  // under mutex_: a snapshot must come from a newer revision
};

}  // namespace banyan::proxy
