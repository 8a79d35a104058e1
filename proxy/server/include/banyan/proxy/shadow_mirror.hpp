#pragma once
// Sends shadow copies and hands both answers to the recorder. Runs on its own thread and event
// loop: a copy never runs on a worker, so it cannot delay a client or hold its connection. Workers
// offer() captured requests; past the queue's capacity copies are dropped and counted.
#include "banyan/proxy/routing_state.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace banyan::shadow {
class shadow_recorder;
}

namespace banyan::proxy {

// A request a worker served, captured for its copy.
struct mirror_job {
  std::shared_ptr<const routing_snapshot> snap;
  std::uint32_t route_index = 0;
  bool primary_is_monolith = true;  // shadow; false: a service route's reverse shadow
  bool safe = true;                 // safe methods may also be re-asked of the monolith (noise)
  std::string request;              // the copy: head with X-Banyan-Shadow, then the body as framed
  std::size_t head_bytes = 0;       // where the head ends in `request`
  std::string primary;              // the primary's response as received (head and body)
  bool primary_too_large = false;
  double primary_seconds = 0;
  std::int64_t at_ms = 0;
  std::string request_id, method, target;
};

struct mirror_options {
  std::size_t max_in_flight = 32;    // copies on the wire at once
  std::size_t queue_capacity = 1024;  // copies waiting for a slot; beyond it they are dropped
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds timeout{10'000};  // whole exchange of one copy
  std::uint32_t noise_probe_first = 20;  // per route: re-ask the monolith for the first N copies…
  std::uint32_t noise_probe_every = 10;  // …then every Nth
};

class shadow_mirror {
 public:
  explicit shadow_mirror(shadow::shadow_recorder& recorder, mirror_options options = {});
  ~shadow_mirror();  // stops the thread; copies in flight are abandoned
  shadow_mirror(const shadow_mirror&) = delete;
  shadow_mirror& operator=(const shadow_mirror&) = delete;

  // Thread-safe. False when the queue is full: the caller counts the copy as dropped.
  bool offer(mirror_job&& job);
  std::uint64_t in_flight() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::proxy
