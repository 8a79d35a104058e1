#include "banyan/proxy/forward_headers.hpp"

#include <algorithm>
#include <random>

namespace banyan::proxy {

using http1::iequals;

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

bool is_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view s) noexcept { return s.find_first_not_of('0') == std::string_view::npos; }

// Fields this hop rewrites itself; their incoming copies are folded into the new value.
bool is_rewritten(std::string_view name) noexcept {
  return iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
         iequals(name, "x-forwarded-host") || iequals(name, "x-request-id") || iequals(name, "traceparent") ||
         iequals(name, "via");
}

// Framing fields: never dropped because a Connection header names them, or the upstream would
// read the body as the next request.
bool is_framing(std::string_view name) noexcept {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "host");
}

bool named_by_connection(const http1::message_head& m, std::string_view name) noexcept {
  for (std::size_t i = 0; i < m.header_count; ++i)
    if (iequals(m.headers[i].name, "connection") && http1::list_contains(m.headers[i].value, name)) return true;
  return false;
}

bool drop_field(const http1::message_head& m, std::string_view name, bool upgrade) noexcept {
  if (upgrade && iequals(name, "upgrade")) return false;
  if (is_hop_by_hop(name)) return true;
  return !is_framing(name) && named_by_connection(m, name);
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// "a, b" from every occurrence of a field, plus one more value.
void joined_field(std::string& out, const http1::message_head& m, std::string_view name, std::string_view add) {
  out.append(name);
  out.append(": ");
  for (std::size_t i = 0; i < m.header_count; ++i)
    if (iequals(m.headers[i].name, name) && !m.headers[i].value.empty()) {
      out.append(m.headers[i].value);
      out.append(", ");
    }
  out.append(add);
  out.append("\r\n");
}

}  // namespace

void random_hex(char* out, std::size_t n) noexcept {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) bits = gen();
    out[i] = hex_digits[bits & 0xf];
    bits >>= 4;
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
  const auto* in = req.find("traceparent");
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
  if (const auto* in = req.find("x-request-id"); in && !in->value.empty() && in->value.size() <= id.buf.size()) {
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

bool is_hop_by_hop(std::string_view name) noexcept {
  if (name.size() >= 6 && iequals(name.substr(0, 6), "proxy-")) return true;
  return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") ||
         iequals(name, "trailer") || iequals(name, "upgrade");
}

void write_request_head(const http1::request_head& req, const request_forwarding& f, std::string& out) {
  out.append(req.method);
  out.push_back(' ');
  out.append(req.target);
  out.append(" HTTP/1.1\r\n");
  for (std::size_t i = 0; i < req.header_count; ++i) {
    const auto& h = req.headers[i];
    if (drop_field(req, h.name, f.upgrade) || is_rewritten(h.name)) continue;
    field(out, h.name, h.value);
  }
  joined_field(out, req, "X-Forwarded-For", f.client_address);
  field(out, "X-Forwarded-Proto", f.proto);
  if (!req.host.empty()) field(out, "X-Forwarded-Host", req.host);
  joined_field(out, req, "Via", f.via);
  field(out, "X-Request-Id", f.request_id);
  field(out, "traceparent", f.traceparent);
  if (f.upgrade) field(out, "Connection", "upgrade");
  if (!f.extra_name.empty()) field(out, f.extra_name, f.extra_value);
  out.append("\r\n");
}

void write_response_head(const http1::response_head& res, const response_forwarding& f, std::string& out) {
  char status[4] = {static_cast<char>('0' + res.status / 100), static_cast<char>('0' + res.status / 10 % 10),
                    static_cast<char>('0' + res.status % 10), ' '};
  out.append("HTTP/1.1 ");
  out.append(status, 4);
  out.append(res.reason);
  out.append("\r\n");
  for (std::size_t i = 0; i < res.header_count; ++i) {
    const auto& h = res.headers[i];
    if (drop_field(res, h.name, f.upgrade) || iequals(h.name, "via") || iequals(h.name, "x-request-id")) continue;
    field(out, h.name, h.value);
  }
  joined_field(out, res, "Via", f.via);
  field(out, "X-Request-Id", f.request_id);
  if (f.upgrade) field(out, "Connection", "upgrade");
  else if (f.close) field(out, "Connection", "close");
  else if (f.client_minor == 0) field(out, "Connection", "keep-alive");
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
  if (!request_id.empty()) field(out, "X-Request-Id", request_id);
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  out.append(open);
  out.append(code);
  out.append(middle);
  out.append(message);
  out.append(close_body);
}

}  // namespace banyan::proxy
