#pragma once
// Active health checks of the services in the routing: every interval, GET <url><path> on a fresh
// connection; 2xx or 3xx within the timeout is healthy. The same round samples each service's
// GET /internal/sync (the data contract's sync status) for sync_lag gates. Two failures in a row mark a service
// unhealthy (the data plane then treats it like an open circuit); one success marks it healthy.
// A blocking client (platform/http_client) on a thread of its own: nothing here touches the
// request path.
#include "banyan/proxy/routing_state.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace banyan::proxy {

struct health_check_options {
  std::string path = "/healthz";  // empty: no checks
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{1000};
  int unhealthy_after = 2;
};

// One probe: true when the upstream answered 2xx/3xx in time.
bool probe_health(const std::string& host, std::uint16_t port, const std::string& path,
                  std::chrono::milliseconds timeout);

// One sample of a service's sync status.
upstream::sync_sample probe_sync(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

class health_checker {
 public:
  health_checker(routing_state& state, health_check_options options);
  ~health_checker();  // stops the thread
  health_checker(const health_checker&) = delete;
  health_checker& operator=(const health_checker&) = delete;

 private:
  void run();
  // u's sync status, from its data URL when the config names one.
  upstream::sync_sample sample_sync(const upstream& u) const;
  routing_state& state_;
  health_check_options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace banyan::proxy
