#include "banyan/proxy/http1.hpp"

#include "banyan/platform/ascii.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace banyan::proxy::http1 {

namespace {

constexpr char lower(char c) noexcept { return ascii_lower(c); }

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

// The first byte in [p, end) that may not appear inside a field line: a control character other
// than HTAB (CR, LF, NUL, ...) or DEL; `end` when there is none. Sixteen bytes at a time where
// SSE2 is available: every byte of every head passes here, and most lines have none.
const char* find_control(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i below_space = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f), tab = _mm_set1_epi8('\t');
  const __m128i zero = _mm_setzero_si128();
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned v <= 0x1f exactly when the saturating v - 0x1f is zero.
    const __m128i control = _mm_or_si128(_mm_cmpeq_epi8(_mm_subs_epu8(v, below_space), zero), _mm_cmpeq_epi8(v, del));
    const int mask = _mm_movemask_epi8(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), control));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && is_field_char(static_cast<unsigned char>(*p))) ++p;
  return p;
}

// Finds the CRLF ending the line that starts at `p`: `cr` points at its CR. Incomplete when the
// bytes end first; a bare LF fails as bad_line_ending, a bare CR or another control character
// inside the line with `control` (what such a character means on this line).
parse_state find_line_end(const char* p, const char* end, const char*& cr, error& err, const error& control) {
  const char* c = find_control(p, end);
  if (c == end) return parse_state::incomplete;
  if (*c == '\r') {
    if (c + 1 == end) return parse_state::incomplete;
    if (c[1] == '\n') {
      cr = c;
      return parse_state::complete;
    }
  }
  err = *c == '\n' ? error{control.status, "bad_line_ending", "line ends must be CRLF"} : control;
  return parse_state::failed;
}

// When a head that did not complete within `head` (the buffer cut at the size limit) is oversized.
parse_state incomplete_or_too_large(std::string_view buf, error& err, const limits& lim) {
  if (buf.size() < lim.max_head_bytes) return parse_state::incomplete;
  err = {431, "header_too_large", "request header fields too large"};
  return parse_state::failed;
}

// Parses the header lines from `pos` up to and including the blank line that ends the head, into
// out.headers and the framing fields every message shares. One pass over the bytes: line ends are
// found by the same scan that refuses control characters. `is_request` picks the status codes and
// the request-only rules.
parse_state parse_fields(std::string_view head, std::size_t pos, message_head& out, error& err, bool is_request,
                         std::size_t max_fields) {
  const int fail_status = is_request ? 400 : 502;
  auto fail = [&](const char* code, const char* message) {
    err = {fail_status, code, message};
    return parse_state::failed;
  };
  const char* const base = head.data();
  const char* const end = base + head.size();
  const char* p = base + pos;
  static constexpr error request_control{400, "bad_header_value", "control character in a header field value"};
  static constexpr error response_control{502, "bad_header_value", "control character in a header field value"};
  const error& control_in_field = is_request ? request_control : response_control;
  bool saw_length = false, saw_te = false;
  while (true) {
    if (p == end) return parse_state::incomplete;
    if (*p == '\r') {  // blank line: end of head
      if (p + 1 == end) return parse_state::incomplete;
      if (p[1] != '\n') return fail("bad_header_value", "control character in a header field value");
      out.head_bytes = static_cast<std::size_t>(p + 2 - base);
      out.fields_end = p;
      break;
    }
    if (*p == ' ' || *p == '\t') return fail("obs_fold", "folded header lines are not allowed");
    // The line's end first: its CR then stops the name scan, which needs no bounds check.
    const char* cr = nullptr;
    if (const auto st = find_line_end(p, end, cr, err, control_in_field); st != parse_state::complete) return st;
    const char* const name_begin = p;
    while (is_tchar(static_cast<unsigned char>(*p))) ++p;
    if (*p != ':') {
      if (*p == ' ' || *p == '\t') return fail("space_before_colon", "whitespace between a field name and the colon");
      return fail("bad_header", "malformed header field");
    }
    if (p == name_begin) return fail("bad_header", "empty header field name");
    const std::string_view name(name_begin, static_cast<std::size_t>(p - name_begin));
    const char* v = p + 1;
    const char* v_end = cr;
    while (v < v_end && (*v == ' ' || *v == '\t')) ++v;
    while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t')) --v_end;
    const std::string_view value(v, static_cast<std::size_t>(v_end - v));
    p = cr + 2;
    if (out.header_count == max_fields) {
      err = {is_request ? 431 : 502, "too_many_headers", "too many header fields"};
      return parse_state::failed;
    }
    const field id = classify(name);
    // Member by member: building a temporary header here compiled to two 8-byte stores read back
    // as one 16-byte load, a store-forwarding stall on every field.
    header& h = out.headers[out.header_count++];
    h.name = name;
    h.value = value;
    h.id = id;

    if (id == field::content_length) {
      if (saw_length) return fail("duplicate_content_length", "more than one Content-Length");
      saw_length = true;
      if (!parse_decimal(value, out.content_length)) return fail("bad_content_length", "malformed Content-Length");
    } else if (id == field::transfer_encoding) {
      if (saw_te) return fail("duplicate_transfer_encoding", "more than one Transfer-Encoding");
      saw_te = true;
      if (!iequals(value, "chunked")) {
        err = {is_request ? 501 : 502, "unsupported_transfer_coding", "only the chunked transfer coding is supported"};
        return parse_state::failed;
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
  if (saw_length && saw_te) return fail("length_and_chunked", "Content-Length together with Transfer-Encoding");
  if (saw_te && out.version_minor == 0) return fail("chunked_in_http10", "Transfer-Encoding in an HTTP/1.0 message");
  if (saw_te) out.body = body_kind::chunked;
  else if (saw_length) out.body = out.content_length > 0 ? body_kind::length : body_kind::none;
  return parse_state::complete;
}

// "HTTP/1.1" → minor version; -1 when not HTTP/<d>.<d>; -2 for a well-formed but unsupported one.
int parse_version(std::string_view v) noexcept {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7])) return -1;
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return -2;
  return v[7] - '0';
}

}  // namespace

namespace {
// Whether `n` (of the literal's length, checked by the caller) is the lowercase literal in any
// case. OR-ing 0x20 folds case exactly here: the literals hold only letters and '-', and the only
// other byte that folds onto one of those is CR, which no field name or list token contains.
// Compared a word at a time, with overlapping loads covering the ends.
template <class Word>
inline Word folded(const char* p) noexcept {
  Word w;
  std::memcpy(&w, p, sizeof w);
  Word mask;
  std::memset(&mask, 0x20, sizeof mask);
  return w | mask;
}
template <class Word>
inline Word word_of(const char* p) noexcept {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
template <std::size_t N>
inline bool is_name(std::string_view n, const char (&lowercase)[N]) noexcept {
  constexpr std::size_t len = N - 1;
  static_assert(len >= 2 && len <= 24);
  const char* p = n.data();
  if constexpr (len >= 8) {
    std::uint64_t diff = 0;
    for (std::size_t at = 0; at + 8 <= len; at += 8)
      diff |= folded<std::uint64_t>(p + at) ^ word_of<std::uint64_t>(lowercase + at);
    diff |= folded<std::uint64_t>(p + len - 8) ^ word_of<std::uint64_t>(lowercase + len - 8);
    return diff == 0;
  } else if constexpr (len >= 4) {
    return ((folded<std::uint32_t>(p) ^ word_of<std::uint32_t>(lowercase)) |
            (folded<std::uint32_t>(p + len - 4) ^ word_of<std::uint32_t>(lowercase + len - 4))) == 0;
  } else {
    return ((folded<std::uint16_t>(p) ^ word_of<std::uint16_t>(lowercase)) |
            (folded<std::uint16_t>(p + len - 2) ^ word_of<std::uint16_t>(lowercase + len - 2))) == 0;
  }
}
}  // namespace

field classify(std::string_view n) noexcept {
  switch (n.size()) {
    case 2: if (is_name(n, "te")) return field::te; break;
    case 3: if (is_name(n, "via")) return field::via; break;
    case 4: if (is_name(n, "host")) return field::host; break;
    case 6:
      if (is_name(n, "expect")) return field::expect;
      if (is_name(n, "cookie")) return field::cookie;
      break;
    case 7:
      if (is_name(n, "upgrade")) return field::upgrade;
      if (is_name(n, "trailer")) return field::trailer;
      break;
    case 10:
      if (is_name(n, "connection")) return field::connection;
      if (is_name(n, "keep-alive")) return field::keep_alive;
      break;
    case 11: if (is_name(n, "traceparent")) return field::traceparent; break;
    case 12: if (is_name(n, "x-request-id")) return field::x_request_id; break;
    case 14:
      if (is_name(n, "content-length")) return field::content_length;
      if (is_name(n, "http2-settings")) return field::http2_settings;
      break;
    case 15: if (is_name(n, "x-forwarded-for")) return field::x_forwarded_for; break;
    case 16: if (is_name(n, "x-forwarded-host")) return field::x_forwarded_host; break;
    case 17:
      if (is_name(n, "transfer-encoding")) return field::transfer_encoding;
      if (is_name(n, "x-forwarded-proto")) return field::x_forwarded_proto;
      break;
    default: break;
  }
  if (n.size() > 6 && is_name(n.substr(0, 6), "proxy-")) return field::proxy_prefixed;
  return field::other;
}

bool iequals(std::string_view a, std::string_view b) noexcept { return ascii_iequals(a, b); }

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
  // A head must end within the limit; a request line alone longer than that is as oversized.
  const std::string_view head = buf.substr(0, lim.max_head_bytes);
  out.reset();

  const char* cr = nullptr;
  if (const auto st = find_line_end(head.data(), head.data() + head.size(), cr, err,
                                    bad("bad_request_line", "control character in the request line"));
      st != parse_state::complete)
    return st == parse_state::incomplete ? incomplete_or_too_large(buf, err, lim) : st;
  const std::size_t eol = static_cast<std::size_t>(cr - head.data());
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
  if (out.method == "CONNECT") {
    err = {501, "connect_not_supported", "CONNECT is not supported"};
    return parse_state::failed;
  }
  if (out.target.front() != '/' && !(out.target == "*" && out.method == "OPTIONS")) {
    err = bad("bad_target", "the request target must be in origin form (/path?query)");
    return parse_state::failed;
  }
  out.keep_alive = false;  // recomputed below from version and Connection
  if (const auto st = parse_fields(head, eol + 2, out, err, true, std::min(lim.max_fields, max_headers)); st != parse_state::complete)
    return st == parse_state::incomplete ? incomplete_or_too_large(buf, err, lim) : st;
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
  const std::string_view head = buf.substr(0, lim.max_head_bytes);
  out.reset();
  auto result = [&](parse_state st) {
    if (st == parse_state::incomplete) st = incomplete_or_too_large(buf, err, lim);
    if (st == parse_state::failed) err = {502, "bad_upstream_response", "upstream sent a malformed response head"};
    return st;
  };
  const char* cr = nullptr;
  if (const auto st = find_line_end(head.data(), head.data() + head.size(), cr, err,
                                    {502, "bad_upstream_response", "upstream sent a malformed status line"});
      st != parse_state::complete)
    return result(st);
  const std::size_t eol = static_cast<std::size_t>(cr - head.data());
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
  if (const auto st = parse_fields(head, eol + 2, out, err, false, std::min(lim.max_fields, max_headers)); st != parse_state::complete) {
    if (st == parse_state::incomplete) return result(st);
    return parse_state::failed;  // parse_fields said why, with 502
  }
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

chunked_decoder::result chunked_decoder::feed(std::string_view bytes, std::string* payload) {
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
        if (payload) payload->append(bytes.substr(i, take));
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
