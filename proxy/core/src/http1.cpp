#include "banyan/proxy/http1.hpp"

#include <array>

namespace banyan::proxy::http1 {

namespace {

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// RFC 9110 tchar, and field-value characters (VCHAR, SP, HTAB, obs-text; never CR, LF, NUL or
// other controls), as lookup tables: the parser tests every byte of every head.
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> make_field_char_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = c == '\t' || (c >= 0x20 && c != 0x7f);
  return t;
}
constexpr auto tchar_table = make_tchar_table();
constexpr auto field_char_table = make_field_char_table();

constexpr bool is_tchar(unsigned char c) noexcept { return tchar_table[c]; }
constexpr bool is_field_char(unsigned char c) noexcept { return field_char_table[c]; }

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr error bad(const char* code, const char* message) noexcept { return {400, code, message}; }

bool parse_decimal(std::string_view v, std::uint64_t& out) noexcept {
  if (v.empty() || v.size() > 18) return false;  // 18 digits cannot overflow 64 bits
  std::uint64_t n = 0;
  for (char c : v) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = n;
  return true;
}

// Calls f with each trimmed item of a comma-separated list.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (true) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    f(item);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// Finds the end of the head. Bare LF is refused as soon as it is seen rather than waited on.
parse_state find_head_end(std::string_view buf, std::size_t& end, error& err, const limits& lim) {
  const std::size_t pos = buf.find("\r\n\r\n");
  if (pos != std::string_view::npos && pos + 4 <= lim.max_head_bytes) {
    end = pos + 4;
    return parse_state::complete;
  }
  const std::size_t scan = pos == std::string_view::npos ? buf.size() : pos;
  for (std::size_t i = 0; i < scan && i < lim.max_head_bytes; ++i)
    if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) {
      err = bad("bad_line_ending", "line ends must be CRLF");
      return parse_state::failed;
    }
  if (buf.size() >= lim.max_head_bytes || pos != std::string_view::npos) {
    err = {431, "header_too_large", "request header fields too large"};
    return parse_state::failed;
  }
  return parse_state::incomplete;
}

// Parses the header lines in [pos, end-2) into out.headers, and the framing fields every message
// shares. `is_request` picks the status codes and the request-only rules.
bool parse_fields(std::string_view head, std::size_t pos, message_head& out, error& err, bool is_request) {
  const int fail_status = is_request ? 400 : 502;
  auto fail = [&](const char* code, const char* message) {
    err = {fail_status, code, message};
    return false;
  };
  bool saw_length = false, saw_te = false;
  while (true) {
    const std::size_t eol = head.find("\r\n", pos);
    if (eol == pos) break;  // blank line: end of head
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.front() == ' ' || line.front() == '\t') return fail("obs_fold", "folded header lines are not allowed");
    std::size_t colon = 0;
    while (colon < line.size() && is_tchar(static_cast<unsigned char>(line[colon]))) ++colon;
    if (colon == line.size() || line[colon] != ':') {
      if (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t'))
        return fail("space_before_colon", "whitespace between a field name and the colon");
      return fail("bad_header", "malformed header field");
    }
    if (colon == 0) return fail("bad_header", "empty header field name");
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    for (char c : value)
      if (!is_field_char(static_cast<unsigned char>(c)))
        return fail("bad_header_value", "control character in a header field value");
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (out.header_count == max_headers) {
      err = {is_request ? 431 : 502, "too_many_headers", "too many header fields"};
      return false;
    }
    const field id = classify(name);
    out.headers[out.header_count++] = {name, value, id};

    if (id == field::content_length) {
      if (saw_length) return fail("duplicate_content_length", "more than one Content-Length");
      saw_length = true;
      if (!parse_decimal(value, out.content_length)) return fail("bad_content_length", "malformed Content-Length");
    } else if (id == field::transfer_encoding) {
      if (saw_te) return fail("duplicate_transfer_encoding", "more than one Transfer-Encoding");
      saw_te = true;
      if (!iequals(value, "chunked")) {
        err = {is_request ? 501 : 502, "unsupported_transfer_coding", "only the chunked transfer coding is supported"};
        return false;
      }
    } else if (id == field::connection) {
      for_each_token(value, [&](std::string_view token) {
        if (iequals(token, "close")) out.connection_close = true;
        else if (iequals(token, "keep-alive")) out.keep_alive = true;
        else if (iequals(token, "upgrade")) out.connection_upgrade = true;
        else if (!token.empty()) out.connection_names_fields = true;
      });
    }
  }
  out.head_bytes = pos + 2;
  if (saw_length && saw_te) return fail("length_and_chunked", "Content-Length together with Transfer-Encoding");
  if (saw_te && out.version_minor == 0) return fail("chunked_in_http10", "Transfer-Encoding in an HTTP/1.0 message");
  if (saw_te) out.body = body_kind::chunked;
  else if (saw_length) out.body = out.content_length > 0 ? body_kind::length : body_kind::none;
  return true;
}

// "HTTP/1.1" → minor version; -1 when not HTTP/<d>.<d>; -2 for a well-formed but unsupported one.
int parse_version(std::string_view v) noexcept {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7])) return -1;
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return -2;
  return v[7] - '0';
}

}  // namespace

field classify(std::string_view n) noexcept {
  switch (n.size()) {
    case 2: if (iequals(n, "te")) return field::te; break;
    case 3: if (iequals(n, "via")) return field::via; break;
    case 4: if (iequals(n, "host")) return field::host; break;
    case 6:
      if (iequals(n, "expect")) return field::expect;
      if (iequals(n, "cookie")) return field::cookie;
      break;
    case 7:
      if (iequals(n, "upgrade")) return field::upgrade;
      if (iequals(n, "trailer")) return field::trailer;
      break;
    case 10:
      if (iequals(n, "connection")) return field::connection;
      if (iequals(n, "keep-alive")) return field::keep_alive;
      break;
    case 11: if (iequals(n, "traceparent")) return field::traceparent; break;
    case 12: if (iequals(n, "x-request-id")) return field::x_request_id; break;
    case 14: if (iequals(n, "content-length")) return field::content_length; break;
    case 15: if (iequals(n, "x-forwarded-for")) return field::x_forwarded_for; break;
    case 16: if (iequals(n, "x-forwarded-host")) return field::x_forwarded_host; break;
    case 17:
      if (iequals(n, "transfer-encoding")) return field::transfer_encoding;
      if (iequals(n, "x-forwarded-proto")) return field::x_forwarded_proto;
      break;
    default: break;
  }
  if (n.size() > 6 && iequals(n.substr(0, 6), "proxy-")) return field::proxy_prefixed;
  return field::other;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool list_contains(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

const header* message_head::find(field id) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i)
    if (headers[i].id == id) return &headers[i];
  return nullptr;
}

const header* message_head::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i)
    if (iequals(headers[i].name, name)) return &headers[i];
  return nullptr;
}

parse_state parse_request(std::string_view buf, request_head& out, error& err, const limits& lim) {
  std::size_t end = 0;
  // A request line alone longer than the limit is as oversized as a long header.
  if (auto st = find_head_end(buf, end, err, lim); st != parse_state::complete) return st;
  std::string_view head = buf.substr(0, end);
  out = request_head{};

  const std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = 0;
  while (sp1 < line.size() && is_tchar(static_cast<unsigned char>(line[sp1]))) ++sp1;
  if (sp1 == 0 || sp1 == line.size() || line[sp1] != ' ') {
    err = bad("bad_request_line", "malformed request line");
    return parse_state::failed;
  }
  out.method = line.substr(0, sp1);
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    err = bad("bad_request_line", "malformed request line");
    return parse_state::failed;
  }
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      err = bad("bad_target", "invalid character in the request target");
      return parse_state::failed;
    }
  const int minor = parse_version(line.substr(sp2 + 1));
  if (minor == -1) {
    err = bad("bad_request_line", "malformed HTTP version");
    return parse_state::failed;
  }
  if (minor == -2) {
    err = {505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are supported"};
    return parse_state::failed;
  }
  out.version_minor = minor;
  out.keep_alive = minor == 1;
  if (out.method == "CONNECT") {
    err = {501, "connect_not_supported", "CONNECT is not supported"};
    return parse_state::failed;
  }
  if (out.target.front() != '/' && !(out.target == "*" && out.method == "OPTIONS")) {
    err = bad("bad_target", "the request target must be in origin form (/path?query)");
    return parse_state::failed;
  }
  out.keep_alive = false;  // recomputed below from version and Connection
  if (!parse_fields(head, eol + 2, out, err, true)) return parse_state::failed;
  out.keep_alive = out.connection_close ? false : (minor == 1 || out.keep_alive);

  int hosts = 0;
  for (std::size_t i = 0; i < out.header_count; ++i) {
    const auto& h = out.headers[i];
    if (h.id == field::host) {
      ++hosts;
      out.host = h.value;
    } else if (h.id == field::expect) {
      out.expect_continue = iequals(h.value, "100-continue");
    } else if (h.id == field::upgrade && out.connection_upgrade) {
      out.upgrade = h.value;
    }
  }
  if (hosts > 1 || (minor == 1 && hosts == 0)) {
    err = bad(hosts ? "duplicate_host" : "missing_host", hosts ? "more than one Host" : "HTTP/1.1 request without Host");
    return parse_state::failed;
  }
  return parse_state::complete;
}

parse_state parse_response(std::string_view buf, std::string_view request_method, response_head& out, error& err,
                           const limits& lim) {
  std::size_t end = 0;
  if (auto st = find_head_end(buf, end, err, lim); st != parse_state::complete) {
    if (st == parse_state::failed) err = {502, "bad_upstream_response", "upstream sent a malformed response head"};
    return st;
  }
  std::string_view head = buf.substr(0, end);
  out = response_head{};
  const std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  const int minor = line.size() >= 12 ? parse_version(line.substr(0, 8)) : -1;
  if (minor < 0 || line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
      (line.size() > 12 && line[12] != ' ') || line[9] == '0') {
    err = {502, "bad_upstream_response", "upstream sent a malformed status line"};
    return parse_state::failed;
  }
  out.version_minor = minor;
  out.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  out.reason = line.size() > 13 ? line.substr(13) : std::string_view();
  out.keep_alive = false;
  if (!parse_fields(head, eol + 2, out, err, false)) return parse_state::failed;
  out.keep_alive = out.connection_close ? false : (minor == 1 || out.keep_alive);

  const bool no_body = request_method == "HEAD" || out.status / 100 == 1 || out.status == 204 || out.status == 304;
  if (no_body) {
    out.body = body_kind::none;
  } else if (out.body == body_kind::none && !out.find(field::content_length)) {
    out.body = body_kind::until_close;  // delimited by the upstream closing the connection
    out.keep_alive = false;
  }
  return parse_state::complete;
}

chunked_decoder::result chunked_decoder::feed(std::string_view bytes) noexcept {
  result r;
  auto fail = [&](const char* code, const char* message) {
    r.err = bad(code, message);
    return r;
  };
  std::size_t i = 0;
  while (i < bytes.size()) {
    const char c = bytes[i];
    switch (state_) {
      case st::size: {
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        else if (lower(c) >= 'a' && lower(c) <= 'f') digit = lower(c) - 'a' + 10;
        if (digit >= 0) {
          if (remaining_ >> 56) return fail("bad_chunk_size", "chunk size too large");
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(digit);
          size_digits_ = true;
        } else if (c == ';' && size_digits_) {
          state_ = st::size_ext;
        } else if (c == '\r' && size_digits_) {
          state_ = st::size_lf;
        } else {
          return fail("bad_chunk_size", "malformed chunk size");
        }
        ++i;
        break;
      }
      case st::size_ext:
        if (c == '\r') state_ = st::size_lf;
        else if (!is_field_char(static_cast<unsigned char>(c)) || ++line_bytes_ > 4096)
          return fail("bad_chunk_extension", "malformed chunk extension");
        ++i;
        break;
      case st::size_lf:
        if (c != '\n') return fail("bad_chunk_size", "chunk size line must end with CRLF");
        line_bytes_ = 0;
        size_digits_ = false;
        state_ = remaining_ == 0 ? st::trailer_start : st::data;
        ++i;
        break;
      case st::data: {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size() - i));
        remaining_ -= take;
        total_ += take;
        i += take;
        if (remaining_ == 0) state_ = st::data_cr;
        break;
      }
      case st::data_cr:
        if (c != '\r') return fail("bad_chunk_data", "chunk data longer than its size");
        state_ = st::data_lf;
        ++i;
        break;
      case st::data_lf:
        if (c != '\n') return fail("bad_chunk_data", "chunk data must end with CRLF");
        state_ = st::size;
        ++i;
        break;
      case st::trailer_start:
        if (c == '\r') state_ = st::final_lf;
        else if (c == ' ' || c == '\t' || !is_tchar(static_cast<unsigned char>(c)))
          return fail("bad_trailer", "malformed trailer field");
        else state_ = st::trailer_line;
        ++i;
        break;
      case st::trailer_line:
        if (c == '\r') state_ = st::trailer_lf;
        else if (!is_field_char(static_cast<unsigned char>(c)) || ++line_bytes_ > 8192)
          return fail("bad_trailer", "malformed trailer field");
        ++i;
        break;
      case st::trailer_lf:
        if (c != '\n') return fail("bad_trailer", "trailer lines must end with CRLF");
        line_bytes_ = 0;
        state_ = st::trailer_start;
        ++i;
        break;
      case st::final_lf:
        if (c != '\n') return fail("bad_chunk_data", "chunked body must end with CRLF");
        ++i;
        r.consumed = i;
        r.done = true;
        return r;
    }
  }
  r.consumed = i;
  return r;
}

}  // namespace banyan::proxy::http1
