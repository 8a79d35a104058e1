#pragma once
// A small blocking HTTP/1.1 client for one origin: what the CLI, the feed follower and `banyan data
// verify` use to talk to the proxy's admin API, a monolith and an extracted service. It keeps its
// connection alive between calls and reconnects once when a kept connection turns out stale.
// Beast and Asio stay behind this header (the same rule as http_server.hpp).
//
// Not for the proxy's data plane, which has its own strict parser and non-blocking sockets.
#include "banyan/platform/expected.hpp"
#include "banyan/platform/http_message.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace banyan::http {

// An http:// URL split into what a client needs. `base_path` is the URL's path without a trailing
// '/' ("" for "http://host:8080" and "http://host:8080/").
struct http_url {
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;
  std::string origin() const;  // "http://host:port"
};
// False with `why` for anything but http://host[:port][/path] (no query, no user info).
bool parse_http_url(std::string_view text, http_url& out, std::string& why);

struct client_options {
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds timeout{10'000};  // for the whole exchange after connecting
  std::size_t body_limit = 64 * 1024 * 1024;
  std::string user_agent = "banyan";
};

struct client_error {
  enum class kind { unreachable, timeout, protocol } what = kind::unreachable;
  std::string message;
};

class client {
 public:
  // Throws std::invalid_argument for a URL parse_http_url refuses.
  explicit client(std::string_view base_url, client_options options = {});
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  // `target` is appended to the URL's base path. Every response is a value, whatever its status;
  // an error only when no complete response came.
  expected<response, client_error> send(std::string_view method, std::string_view target,
                                        const header_list& headers = {}, std::string_view body = {});
  expected<response, client_error> get(std::string_view target, const header_list& headers = {}) {
    return send("GET", target, headers);
  }
  // A response read as it arrives (etcd's watch): the status once the head is in, then each piece
  // of the body to `on_data`, until the response ends or `on_data` returns false. `keep_going` is
  // asked at least every 200 ms while nothing arrives (false: stop); `idle` without a byte is a
  // timeout. The connection is closed afterwards. The status is 0 when the head never came.
  struct stream_handlers {
    std::function<bool(int status)> on_status;
    std::function<bool(std::string_view data)> on_data;
    std::function<bool()> keep_going;
    std::chrono::milliseconds idle{30'000};
  };
  expected<int, client_error> stream(std::string_view method, std::string_view target, const header_list& headers,
                                     std::string_view body, const stream_handlers& handlers);
  const http_url& url() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::http
