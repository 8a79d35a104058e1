#pragma once
// An HTTP upstream for proxy tests that behaves well or badly on demand, chosen by request path:
//   /echo           200, the body is the request head exactly as it arrived
//   /slow?ms=N      200 after N milliseconds (also any path ending in /slow)
//   /reset          closes the connection without answering
//   /reset-mid      sends a head promising 1000 bytes, 10 of them, then closes
//   /garbage        answers with bytes that are not HTTP
//   /big?bytes=N    200 with N bytes of body, streamed
//   /chunked        200 with a chunked body "hello, world"
//   /upload         reads the body (length or chunked) and answers with its size
//   /ws             101 Switching Protocols, then echoes every byte back (a WebSocket stand-in)
//   /healthz        200 "ok", or 503 after set_healthy(false)
//   /fail           500 with a JSON error body
//   /internal/...   404: it publishes no change feed and follows none
//   anything else   200 "NAME PATH" (NAME given at construction), so tests see who answered
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banyan::test {

class test_upstream {
 public:
  explicit test_upstream(std::string name = "upstream");
  ~test_upstream();
  test_upstream(const test_upstream&) = delete;
  test_upstream& operator=(const test_upstream&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const noexcept { return requests_.load(); }  // complete requests, bodies included
  int connections() const noexcept { return connections_.load(); }  // accepted so far
  std::vector<std::string> paths() const;  // of every complete request, in arrival order
  int slow_in_flight() const noexcept { return slow_in_flight_.load(); }  // /slow answers being waited on
  int peak_slow() const noexcept { return peak_slow_.load(); }            // most of them at once
  void set_healthy(bool h) noexcept { healthy_ = h; }

 private:
  void serve(int fd);
  std::string name_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> slow_in_flight_{0};
  std::atomic<int> peak_slow_{0};
  std::atomic<bool> healthy_{true};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::string> paths_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

}  // namespace banyan::test
