#include "banyan/proxy/forward_headers.hpp"

#include <algorithm>
#include <cstring>
#include <random>

namespace banyan::proxy {

using http1::iequals;

namespace {

bool is_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view s) noexcept { return s.find_first_not_of('0') == std::string_view::npos; }

using http1::field;

static_assert(static_cast<unsigned>(field::cookie) < 32, "field sets are 32-bit masks");
constexpr std::uint32_t bit(field id) noexcept { return 1u << static_cast<unsigned>(id); }
constexpr bool in(std::uint32_t set, field id) noexcept { return (set >> static_cast<unsigned>(id)) & 1u; }

// Fields this hop rewrites itself; their incoming copies are folded into the new value. Expect is
// answered by the proxy (it sends the 100 Continue), so the upstream never waits on it.
constexpr std::uint32_t rewritten_fields = bit(field::expect) | bit(field::x_forwarded_for) |
                                           bit(field::x_forwarded_proto) | bit(field::x_forwarded_host) |
                                           bit(field::x_request_id) | bit(field::traceparent) | bit(field::via);
bool is_rewritten(field id) noexcept { return in(rewritten_fields, id); }

// HTTP2-Settings belongs to an h2c upgrade (RFC 7540 §3.2), which is never tunnelled: forwarded
// alone it invites a backend to switch protocols behind the proxy's back.
constexpr std::uint32_t hop_by_hop_fields = bit(field::connection) | bit(field::keep_alive) | bit(field::te) |
                                            bit(field::trailer) | bit(field::upgrade) | bit(field::proxy_prefixed) |
                                            bit(field::http2_settings);
bool is_hop_by_hop_field(field id) noexcept { return in(hop_by_hop_fields, id); }

// Framing fields: never dropped because a Connection header names them, or the upstream would
// read the body as the next request.
bool is_framing(field id) noexcept {
  return id == field::content_length || id == field::transfer_encoding || id == field::host;
}

bool named_by_connection(const http1::message_head& m, std::string_view name) noexcept {
  for (std::size_t i = 0; i < m.header_count; ++i)
    if (m.headers[i].id == field::connection && http1::list_contains(m.headers[i].value, name)) return true;
  return false;
}

inline bool drop_field(const http1::message_head& m, const http1::header& h, bool upgrade) noexcept {
  if (upgrade && h.id == field::upgrade) return false;
  if (is_hop_by_hop_field(h.id)) return true;
  return m.connection_names_fields && !is_framing(h.id) && named_by_connection(m, h.name);
}

// Forwards the field lines `keep` accepts exactly as they were read: one append per run of kept
// lines rather than four per field.
template <class Keep>
void append_kept_fields(std::string& out, const http1::message_head& m, Keep&& keep) {
  const char* run = nullptr;  // start of the current run of kept lines
  for (std::size_t i = 0; i < m.header_count; ++i) {
    const auto& h = m.headers[i];
    if (keep(h)) {
      if (!run) run = h.name.data();
    } else if (run) {
      out.append(run, static_cast<std::size_t>(h.name.data() - run));
      run = nullptr;
    }
  }
  if (run) out.append(run, static_cast<std::size_t>(m.fields_end - run));
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// "a, b" from every occurrence of a field, plus one more value.
void joined_field(std::string& out, const http1::message_head& m, field id, std::string_view name,
                  std::string_view add) {
  out.append(name);
  out.append(": ");
  for (std::size_t i = 0; i < m.header_count; ++i)
    if (m.headers[i].id == id && !m.headers[i].value.empty()) {
      out.append(m.headers[i].value);
      out.append(", ");
    }
  out.append(add);
  out.append("\r\n");
}

}  // namespace

void random_hex(char* out, std::size_t n) noexcept {
  // splitmix64 seeded once per thread: ids need uniqueness, not cryptographic strength.
  thread_local std::uint64_t state = std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32);
  std::uint64_t z = 0;
  for (std::size_t i = 0; i < n; i += 8) {
    if (i % 16 == 0) {
      z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
    }
    // 32 random bits to 8 hex digits at once: one nibble per byte, then '0'-'9' / 'a'-'f'. The
    // digits come out in a shuffled order, which random digits do not mind.
    std::uint64_t v = z & 0xffffffffull;
    z >>= 32;
    v = (v | (v << 16)) & 0x0000ffff0000ffffull;
    v = (v | (v << 8)) & 0x00ff00ff00ff00ffull;
    v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0full;
    const std::uint64_t letters = ((v + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;  // nibbles > 9
    v += 0x3030303030303030ull + letters * ('a' - '0' - 10);
    if (n - i >= 8) {
      std::memcpy(out + i, &v, 8);
    } else {
      for (std::size_t k = i; k < n; ++k, v >>= 8) out[k] = static_cast<char>(v);
    }
  }
}

bool valid_traceparent(std::string_view v) noexcept {
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const auto version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
  return is_hex(version) && version != "ff" && is_hex(trace) && !all_zero(trace) && is_hex(parent) &&
         !all_zero(parent) && is_hex(flags);
}

trace_context continue_trace(const http1::request_head& req) noexcept {
  trace_context t;
  char* p = t.traceparent.data();
  const auto* in = req.find(field::traceparent);
  if (in && valid_traceparent(in->value)) {
    std::copy_n(in->value.data(), 55, p);
    p[0] = '0';  // we speak version 00
    p[1] = '0';
  } else {
    std::copy_n("00-", 3, p);
    random_hex(p + 3, 32);
    p[35] = '-';
    std::copy_n("-01", 3, p + 52);  // a new trace is sampled
  }
  random_hex(p + 36, 16);  // this hop's span
  return t;
}

request_id choose_request_id(const http1::request_head& req) noexcept {
  request_id id;
  if (const auto* in = req.find(field::x_request_id); in && !in->value.empty() && in->value.size() <= id.buf.size()) {
    bool ok = true;
    for (char c : in->value)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == ':' || c == '-');
    if (ok) {
      std::copy(in->value.begin(), in->value.end(), id.buf.begin());
      id.len = in->value.size();
      return id;
    }
  }
  random_hex(id.buf.data(), 32);
  id.len = 32;
  return id;
}

bool is_hop_by_hop(std::string_view name) noexcept { return is_hop_by_hop_field(http1::classify(name)); }

bool upgrade_allowed(const http1::request_head& req) noexcept {
  return req.connection_upgrade && iequals(req.upgrade, "websocket") && req.body == http1::body_kind::none;
}

void write_request_head(const http1::request_head& req, const request_forwarding& f, std::string& out) {
  out.append(req.method);
  out.push_back(' ');
  out.append(f.target.empty() ? req.target : f.target);
  out.append(" HTTP/1.1\r\n");
  // HTTP/1.1 needs a Host; an HTTP/1.0 client may have sent none. As nginx does, the upstream then
  // gets its own name (the client named no virtual host to keep).
  if (req.host.empty() && !f.upstream_host.empty() && !req.find(field::host)) append_field(out, "Host", f.upstream_host);
  append_kept_fields(out, req, [&](const http1::header& h) {
    return !drop_field(req, h, f.upgrade) && !is_rewritten(h.id);
  });
  joined_field(out, req, field::x_forwarded_for, "X-Forwarded-For", f.client_address);
  append_field(out, "X-Forwarded-Proto", f.proto);
  if (!req.host.empty()) append_field(out, "X-Forwarded-Host", req.host);
  joined_field(out, req, field::via, "Via", f.via);
  append_field(out, "X-Request-Id", f.request_id);
  append_field(out, "traceparent", f.traceparent);
  if (f.upgrade) append_field(out, "Connection", "upgrade");
  if (!f.extra_name.empty()) append_field(out, f.extra_name, f.extra_value);
  out.append("\r\n");
}

void write_response_head(const http1::response_head& res, const response_forwarding& f, std::string& out) {
  char status[4] = {static_cast<char>('0' + res.status / 100), static_cast<char>('0' + res.status / 10 % 10),
                    static_cast<char>('0' + res.status % 10), ' '};
  out.append("HTTP/1.1 ");
  out.append(status, 4);
  out.append(res.reason);
  out.append("\r\n");
  append_kept_fields(out, res, [&](const http1::header& h) {
    return !drop_field(res, h, f.upgrade) && h.id != field::via && h.id != field::x_request_id;
  });
  joined_field(out, res, field::via, "Via", f.via);
  append_field(out, "X-Request-Id", f.request_id);
  if (f.upgrade) append_field(out, "Connection", "upgrade");
  else if (f.close) append_field(out, "Connection", "close");
  else if (f.client_minor == 0) append_field(out, "Connection", "keep-alive");
  out.append("\r\n");
}

void write_error_response(int status, std::string_view code, std::string_view message, std::string_view request_id,
                          bool close, std::string& out) {
  std::string_view reason;
  switch (status) {
    case 400: reason = "Bad Request"; break;
    case 401: reason = "Unauthorized"; break;
    case 404: reason = "Not Found"; break;
    case 408: reason = "Request Timeout"; break;
    case 411: reason = "Length Required"; break;
    case 413: reason = "Content Too Large"; break;
    case 431: reason = "Request Header Fields Too Large"; break;
    case 501: reason = "Not Implemented"; break;
    case 502: reason = "Bad Gateway"; break;
    case 503: reason = "Service Unavailable"; break;
    case 504: reason = "Gateway Timeout"; break;
    case 505: reason = "HTTP Version Not Supported"; break;
    default: reason = "Error"; break;
  }
  // Codes and messages are the proxy's own constants, free of characters JSON would escape.
  constexpr std::string_view open = "{\"error\":{\"code\":\"", middle = "\",\"message\":\"", close_body = "\"}}";
  const std::size_t body_len = open.size() + code.size() + middle.size() + message.size() + close_body.size();
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  out.append(std::to_string(body_len));
  out.append("\r\nVia: 1.1 banyan\r\n");
  if (!request_id.empty()) append_field(out, "X-Request-Id", request_id);
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  out.append(open);
  out.append(code);
  out.append(middle);
  out.append(message);
  out.append(close_body);
}

}  // namespace banyan::proxy
