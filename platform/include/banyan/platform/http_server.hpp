#pragma once
// HTTP/1.1 server scaffolding for Banyan's application binaries (legacy-shop, extracted services).
// Beast and Asio stay behind this header: callers hand over a transport-free handler.
//
// Per connection: one strand, keep-alive, a fresh parser per request with header and body limits,
// a deadline on every read and write. Errors become JSON bodies with the right status (400, 408,
// 411, 413, 431, 500, 505). SIGINT/SIGTERM drain: stop accepting, close idle connections, let
// in-flight requests finish (up to drain_timeout), then run() returns.
#include "banyan/platform/http_message.hpp"
#include "banyan/platform/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace banyan::http {

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks one; read it back with port()
  int threads = 1;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // also the keep-alive idle timeout
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds drain_timeout{10'000};
  std::string server_name = "banyan";
  bool access_log = true;
  bool handle_signals = true;
  // Called once when a drain begins (a signal or stop()), on the server's control thread: wake
  // handlers that wait on purpose (a feed's long polls), so the drain does not wait them out.
  std::function<void()> on_drain;
};

// Splits "HOST:PORT" (IPv6 as "[::1]:PORT"). False when malformed.
bool parse_listen_address(std::string_view text, std::string& host, std::uint16_t& port);

class server {
 public:
  using handler = std::function<response(request&)>;

  // Binds immediately (throws std::system_error when it cannot). Metrics, when given, receive
  // http_requests_total, http_request_duration_seconds and http_connections_active.
  server(server_options options, handler h, metrics::registry* metrics = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  std::uint16_t port() const noexcept;
  std::string local_address() const;  // "127.0.0.1:PORT"
  // Serves until stop() or a signal, on options.threads threads (the caller's among them).
  void run();
  // Thread-safe: begins a graceful drain; run() returns when it completes.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::http
