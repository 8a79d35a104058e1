#pragma once
// The proxy's data plane: accepts client connections, routes each request by the current routing
// snapshot, and relays it to the monolith or a service over pooled keep-alive connections.
// Asio stays behind this header.
#include "banyan/proxy/routing_state.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace banyan::proxy {

class shadow_mirror;

struct data_plane_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: the kernel picks one
  int threads = 1;            // one event loop per thread; a connection stays on one thread
  std::size_t max_head_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 0;     // 0: no limit (bodies stream through in constant memory)
  std::size_t buffer_bytes = 32 * 1024;  // per direction and connection, while a request is active
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds upstream_timeout{30'000};  // first byte, and between reads of a response
  std::chrono::milliseconds drain_timeout{10'000};
  std::size_t max_idle_per_upstream = 128;  // pooled connections per upstream and thread
  // Open connections per upstream across all threads, idle ones included; 0: no cap. A request
  // that finds none free waits up to queue_timeout, then gets 503 (or, if safe and bound for a
  // service, the monolith).
  std::uint32_t max_connections_per_upstream = 0;
  std::chrono::milliseconds queue_timeout{3'000};
  bool fallback_to_monolith = true;  // safe requests whose service fails are served by the monolith
  bool handle_signals = true;        // SIGINT/SIGTERM drain; SIGHUP reopens the access log file
  int access_log_fd = -1;            // JSON line per request, buffered per thread; -1: off
  // The access log's file, when it is one: SIGHUP opens it again onto access_log_fd (after
  // logrotate moved it away), so no line is lost and no thread sees another descriptor.
  std::string access_log_path;
  shadow_mirror* mirror = nullptr;   // takes shadow copies; null: shadow routes are served, not copied
};

// Opens (creating it when missing) an access-log file for appending: the descriptor, or -1 with
// errno set. The one way it is opened, at start and on SIGHUP.
int open_access_log_file(const std::string& path) noexcept;

class data_plane {
 public:
  // Binds immediately; throws std::system_error when it cannot.
  data_plane(data_plane_options options, routing_state& state);
  ~data_plane();
  data_plane(const data_plane&) = delete;
  data_plane& operator=(const data_plane&) = delete;

  std::uint16_t port() const noexcept;
  std::string local_address() const;
  // Serves until stop() or a signal; returns after the drain.
  void run();
  // Thread-safe: stop accepting, close idle connections, let in-flight requests finish.
  void stop();
  std::uint64_t active_connections() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::proxy
