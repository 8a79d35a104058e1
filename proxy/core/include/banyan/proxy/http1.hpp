#pragma once
// Strict HTTP/1.1 message-head parsing for the proxy's hot path. Results are views into the caller's
// read buffer (no copies, no allocation); they stay valid while that buffer is untouched.
//
// Strictness is the point: a proxy in front of lenient legacy apps must refuse every shape two
// parsers could read differently (request smuggling). Refused: Content-Length together with
// Transfer-Encoding, duplicate or malformed Content-Length, any coding but a lone "chunked" (501),
// obs-fold, CR/LF/NUL and other controls in fields, whitespace before the colon, bare CR or LF line
// ends, HTTP/1.1 without exactly one Host, unknown versions (505), oversized heads (431).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace banyan::proxy::http1 {

// Header names the proxy acts on, recognised once while parsing.
enum class field : std::uint8_t {
  other, content_length, transfer_encoding, connection, host, expect, upgrade, keep_alive, te, trailer,
  proxy_prefixed,  // Proxy-*
  http2_settings,  // HTTP2-Settings: only meaningful with an h2c upgrade, which is never forwarded
  x_forwarded_for, x_forwarded_proto, x_forwarded_host, x_request_id, traceparent, via, cookie
};
field classify(std::string_view name) noexcept;

struct header {
  std::string_view name;
  std::string_view value;
  field id = field::other;
};

inline constexpr std::size_t max_headers = 100;
// What a message the proxy receives may carry: it adds up to 8 fields of its own (X-Forwarded-For,
// -Proto, -Host, Via, X-Request-Id, traceparent, Host, Connection) and what it forwards must still
// fit a parser with the 100-field limit — its own included (found by fuzzing: 96 fields in, 102 out).
inline constexpr std::size_t forwarding_fields = 8;
inline constexpr std::size_t max_received_headers = max_headers - forwarding_fields;

enum class body_kind : std::uint8_t { none, length, chunked, until_close };

struct limits {
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_fields = max_received_headers;  // at most max_headers
};

// Why a message was refused, with the status a client should get.
struct error {
  int status = 0;  // 0: no error
  const char* code = "";
  const char* message = "";
  explicit operator bool() const noexcept { return status != 0; }
};

enum class parse_state { incomplete, complete, failed };

struct message_head {
  std::array<header, max_headers> headers{};
  std::size_t header_count = 0;
  std::size_t head_bytes = 0;  // bytes of the head including the blank line
  // Where the field lines end (the blank line's CR): runs of kept lines are forwarded as read.
  const char* fields_end = nullptr;
  int version_minor = 1;       // HTTP/1.<minor>
  body_kind body = body_kind::none;
  std::uint64_t content_length = 0;
  bool keep_alive = true;
  bool connection_close = false;
  bool connection_upgrade = false;  // Connection lists "upgrade"
  bool connection_names_fields = false;  // Connection lists other tokens: more hop-by-hop fields

  const header* find(std::string_view name) const noexcept;
  const header* find(field id) const noexcept;
  // Ready for the next message. The headers array is left as it is (only the first header_count
  // entries are ever read): clearing its 4 KB per message cost more than the rest of a parse.
  void reset() noexcept {
    header_count = head_bytes = 0;
    fields_end = nullptr;
    version_minor = 1;
    body = body_kind::none;
    content_length = 0;
    keep_alive = true;
    connection_close = connection_upgrade = connection_names_fields = false;
  }
};

struct request_head : message_head {
  std::string_view method;
  std::string_view target;
  std::string_view host;
  std::string_view upgrade;  // Upgrade value when Connection: upgrade was also sent
  bool expect_continue = false;
  void reset() noexcept {
    message_head::reset();
    method = target = host = upgrade = {};
    expect_continue = false;
  }
};

struct response_head : message_head {
  int status = 0;
  std::string_view reason;
  void reset() noexcept {
    message_head::reset();
    status = 0;
    reason = {};
  }
};

parse_state parse_request(std::string_view buffer, request_head& out, error& err, const limits& lim = {});
// `request_method` decides whether a body can follow (HEAD and CONNECT responses have none).
parse_state parse_response(std::string_view buffer, std::string_view request_method, response_head& out, error& err,
                           const limits& lim = {});

bool iequals(std::string_view a, std::string_view b) noexcept;
// True when the comma-separated list contains the token (case-insensitive), as in Connection.
bool list_contains(std::string_view list, std::string_view token) noexcept;

// Validates a chunked body as it streams by, without copying it: feed() reports how many of the
// given bytes belong to the body (they are forwarded as-is) and whether the body ended there.
// With `payload`, the chunks' data is also appended there (the shadow compare reads bodies so):
// one decoder for relaying and for reading.
class chunked_decoder {
 public:
  struct result {
    std::size_t consumed = 0;
    bool done = false;
    error err{};
  };
  result feed(std::string_view bytes) noexcept { return feed(bytes, nullptr); }
  result feed(std::string_view bytes, std::string* payload);
  void reset() noexcept { *this = chunked_decoder{}; }
  std::uint64_t body_bytes() const noexcept { return total_; }  // payload bytes, excluding framing

 private:
  enum class st : std::uint8_t { size, size_ext, size_lf, data, data_cr, data_lf, trailer_start, trailer_line,
                                  trailer_lf, final_lf };
  st state_ = st::size;
  bool size_digits_ = false;
  std::uint64_t remaining_ = 0;
  std::uint64_t total_ = 0;
  std::size_t line_bytes_ = 0;
};

}  // namespace banyan::proxy::http1
