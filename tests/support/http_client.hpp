#pragma once
// A blocking HTTP/1.1 client on plain sockets, for tests. It sends bytes exactly as given (so tests
// can send malformed requests) and parses responses with Content-Length, chunked or close framing.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace banyan::test {

struct http_reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  const std::string* header(std::string_view name) const;
};

class http_connection {
 public:
  http_connection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  void send_raw(std::string_view bytes);
  // nullopt when the server closed (or timed out) before a complete response.
  std::optional<http_reply> read_reply(bool head_request = false);
  http_reply request(std::string_view method, std::string_view target, std::string_view body = {},
                     std::vector<std::pair<std::string, std::string>> headers = {});
  // Exactly n bytes (fewer if the peer closes or the timeout passes): for tunnelled protocols.
  std::string read_exactly(std::size_t n);
  // Reads a response head, then counts and discards its Content-Length body (for huge bodies).
  std::uint64_t drain_body_after_head();
  // True when the server has closed its side (reads EOF within the timeout).
  bool closed_by_peer(std::chrono::milliseconds timeout);

 private:
  bool fill();
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

// One request on a fresh connection.
http_reply http_call(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body = {},
                     std::vector<std::pair<std::string, std::string>> headers = {});
// JSON POST/PUT convenience: sets Content-Type: application/json.
http_reply http_json(std::uint16_t port, std::string_view method, std::string_view target, std::string_view json);

}  // namespace banyan::test
