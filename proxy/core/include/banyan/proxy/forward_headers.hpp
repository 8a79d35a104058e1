#pragma once
// The header policy of a hop: what is stripped, what is added, written straight into a reused
// output buffer. Pure; the session only hands the bytes to the socket.
#include "banyan/proxy/http1.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace banyan::proxy {

// Fills `out` with random lowercase hex (a thread-local generator: no locks, no allocation).
void random_hex(char* out, std::size_t n) noexcept;

// W3C trace context for this hop: the incoming trace continues with a new span id; an absent or
// invalid traceparent starts a new trace.
struct trace_context {
  std::array<char, 55> traceparent{};  // "00-<32 hex>-<16 hex>-<2 hex>"
  std::string_view value() const noexcept { return {traceparent.data(), traceparent.size()}; }
  std::string_view trace_id() const noexcept { return {traceparent.data() + 3, 32}; }
};
bool valid_traceparent(std::string_view v) noexcept;
trace_context continue_trace(const http1::request_head& req) noexcept;

// The request id a hop uses: the client's when valid (1..128 of [A-Za-z0-9._:-]), else a new one.
struct request_id {
  std::array<char, 128> buf{};
  std::size_t len = 0;
  std::string_view value() const noexcept { return {buf.data(), len}; }
};
request_id choose_request_id(const http1::request_head& req) noexcept;

// True for fields that belong to one connection only and are never forwarded.
bool is_hop_by_hop(std::string_view name) noexcept;

// Whether a request may switch protocols through the proxy: Connection: upgrade, an Upgrade of
// exactly "websocket", and no body. Any other upgrade (h2c above all: a backend that switched would
// carry the connection's next requests past the proxy unseen) is forwarded as a plain request,
// without its Upgrade and HTTP2-Settings fields; a 101 to it is refused as a bad gateway.
bool upgrade_allowed(const http1::request_head& req) noexcept;

struct request_forwarding {
  std::string_view target;          // the normalised target (request_path.hpp); empty: as sent
  std::string_view upstream_host;   // Host for a request without one (HTTP/1.0): the upstream's authority
  std::string_view client_address;  // appended to X-Forwarded-For
  std::string_view proto = "http";
  std::string_view request_id;
  std::string_view traceparent;
  std::string_view via = "1.1 banyan";
  bool upgrade = false;              // keep Connection: upgrade + Upgrade (WebSocket pass-through)
  std::string_view extra_name;       // one more field, e.g. X-Banyan-Shadow on mirrored copies
  std::string_view extra_value;
};

// Appends the upstream request head (always HTTP/1.1, so always with a Host) to `out`. `req` must come from
// parse_request, with its buffer untouched: kept field lines are copied from it as they were read.
void write_request_head(const http1::request_head& req, const request_forwarding& f, std::string& out);

struct response_forwarding {
  std::string_view request_id;
  std::string_view via = "1.1 banyan";
  bool close = false;       // the client connection closes after this response
  int client_minor = 1;     // HTTP/1.0 clients get an explicit keep-alive
  bool upgrade = false;     // 101 Switching Protocols: keep Connection/Upgrade
};

// Appends the client's response head; `res` must come from parse_response, as above.
void write_response_head(const http1::response_head& res, const response_forwarding& f, std::string& out);

// A complete JSON error response, {"error":{"code","message"}}, for errors the proxy answers itself.
void write_error_response(int status, std::string_view code, std::string_view message, std::string_view request_id,
                          bool close, std::string& out);

}  // namespace banyan::proxy
