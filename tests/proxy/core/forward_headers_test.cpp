#include "banyan/proxy/forward_headers.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <set>

using namespace banyan::proxy;

namespace {
// Parsed heads are views into their buffer: keep every buffer a test parses alive to the end.
http1::request_head parse_req(const std::string& raw) {
  static std::deque<std::string> keep;
  http1::request_head h;
  http1::error e;
  REQUIRE(http1::parse_request(keep.emplace_back(raw), h, e) == http1::parse_state::complete);
  return h;
}
bool has_line(const std::string& head, const std::string& line) { return head.find("\r\n" + line + "\r\n") != std::string::npos; }
bool has_field(const std::string& head, const std::string& name) {
  return head.find("\r\n" + name + ":") != std::string::npos;
}
}  // namespace

TEST_CASE("forwarded requests drop hop-by-hop fields and add forwarding fields", "[forward]") {
  const std::string raw =
      "GET /api/products?x=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Secret\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Authorization: Basic x\r\n"
      "Proxy-Connection: keep-alive\r\nX-Secret: s\r\nX-Forwarded-For: 10.0.0.1\r\nVia: 1.0 edge\r\n"
      "Accept: application/json\r\nCookie: a=b\r\n\r\n";
  auto req = parse_req(raw);
  request_forwarding f;
  f.client_address = "127.0.0.9";
  f.request_id = "rid-1";
  f.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  std::string out;
  write_request_head(req, f, out);
  CHECK(out.rfind("GET /api/products?x=1 HTTP/1.1\r\n", 0) == 0);
  for (const char* gone : {"Connection", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization",
                           "Proxy-Connection", "X-Secret"})
    CHECK_FALSE(has_field(out, gone));
  CHECK(has_line(out, "Host: shop.example"));
  CHECK(has_line(out, "Accept: application/json"));
  CHECK(has_line(out, "Cookie: a=b"));
  CHECK(has_line(out, "X-Forwarded-For: 10.0.0.1, 127.0.0.9"));
  CHECK(has_line(out, "X-Forwarded-Proto: http"));
  CHECK(has_line(out, "X-Forwarded-Host: shop.example"));
  CHECK(has_line(out, "Via: 1.0 edge, 1.1 banyan"));
  CHECK(has_line(out, "X-Request-Id: rid-1"));
  CHECK(has_line(out, "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  CHECK(out.size() >= 4);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

TEST_CASE("Connection cannot strip the framing fields", "[forward][smuggling]") {
  auto req = parse_req("POST /x HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, Host\r\nContent-Length: 5\r\n\r\n");
  std::string out;
  write_request_head(req, {}, out);
  CHECK(has_line(out, "Content-Length: 5"));
  CHECK(has_line(out, "Host: a"));
}

TEST_CASE("WebSocket upgrades keep Connection and Upgrade", "[forward]") {
  auto req = parse_req("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  request_forwarding f;
  f.upgrade = true;
  std::string out;
  write_request_head(req, f, out);
  CHECK(has_line(out, "Upgrade: websocket"));
  CHECK(has_line(out, "Connection: upgrade"));
}

TEST_CASE("trace context continues a valid trace and starts one otherwise", "[forward]") {
  auto valid = parse_req("GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n");
  auto t = continue_trace(valid);
  CHECK(valid_traceparent(t.value()));
  CHECK(t.trace_id() == "0af7651916cd43dd8448eb211c80319c");
  CHECK(t.value().substr(36, 16) != "b7ad6b7169203331");  // a new span for this hop
  CHECK(t.value().substr(52) == "-01");

  for (const char* bad : {"00-00000000000000000000000000000000-b7ad6b7169203331-01",
                          "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", "garbage"}) {
    auto req = parse_req(std::string("GET / HTTP/1.1\r\nHost: a\r\ntraceparent: ") + bad + "\r\n\r\n");
    auto fresh = continue_trace(req);
    INFO(bad);
    CHECK(valid_traceparent(fresh.value()));
    CHECK(fresh.trace_id() != std::string_view(bad).substr(3, 32));
  }
}

TEST_CASE("request ids: a valid one is kept, others replaced", "[forward]") {
  CHECK(choose_request_id(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-1\r\n\r\n")).value() == "abc-1");
  auto replaced = choose_request_id(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b\r\n\r\n"));
  CHECK(replaced.value().size() == 32);
  CHECK(choose_request_id(parse_req("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).value() != replaced.value());
}

TEST_CASE("responses lose hop-by-hop fields and say how the connection goes on", "[forward]") {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\n"
      "X-Internal: 1\r\nX-Request-Id: upstream-id\r\nContent-Type: text/plain\r\n\r\nok";
  http1::response_head res;
  http1::error e;
  REQUIRE(http1::parse_response(raw, "GET", res, e) == http1::parse_state::complete);
  response_forwarding f;
  f.request_id = "rid-2";
  std::string out;
  write_response_head(res, f, out);
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_FALSE(has_field(out, "Keep-Alive"));
  CHECK_FALSE(has_field(out, "X-Internal"));
  CHECK_FALSE(has_field(out, "Connection"));
  CHECK(has_line(out, "X-Request-Id: rid-2"));
  CHECK(has_line(out, "Content-Length: 2"));
  CHECK(has_line(out, "Via: 1.1 banyan"));

  out.clear();
  f.close = true;
  write_response_head(res, f, out);
  CHECK(has_line(out, "Connection: close"));
  out.clear();
  f.close = false;
  f.client_minor = 0;
  write_response_head(res, f, out);
  CHECK(has_line(out, "Connection: keep-alive"));
}

TEST_CASE("the proxy's own errors are complete JSON responses", "[forward]") {
  std::string out;
  write_error_response(502, "upstream_unreachable", "cannot connect to the monolith", "rid", true, out);
  http1::response_head res;
  http1::error e;
  REQUIRE(http1::parse_response(out, "GET", res, e) == http1::parse_state::complete);
  CHECK(res.status == 502);
  const std::string body = out.substr(res.head_bytes);
  CHECK(body == R"({"error":{"code":"upstream_unreachable","message":"cannot connect to the monolith"}})");
  CHECK(res.content_length == body.size());
  CHECK_FALSE(res.keep_alive);
}

TEST_CASE("kept field lines are forwarded exactly as read, around the dropped ones", "[forward]") {
  const std::string raw =
      "GET /x HTTP/1.1\r\nHost: a\r\nX-Tight:v\r\nX-Spaced: \t padded \t \r\nConnection: close\r\n"
      "X-After: 1\r\nX-Empty:\r\nX-Last: \xC3\xA9t\xC3\xA9\r\n\r\n";
  auto req = parse_req(raw);
  CHECK(req.find("x-spaced")->value == "padded");  // parsed values are trimmed...
  std::string out;
  write_request_head(req, {}, out);
  // ...but forwarded lines keep their bytes, in their order, Connection gone from the middle.
  CHECK(out.find("\r\nHost: a\r\nX-Tight:v\r\nX-Spaced: \t padded \t \r\nX-After: 1\r\nX-Empty:\r\nX-Last: "
                 "\xC3\xA9t\xC3\xA9\r\nX-Forwarded-For: ") != std::string::npos);
  CHECK_FALSE(has_field(out, "Connection"));
}

TEST_CASE("generated ids are lowercase hex of the asked length and differ", "[forward]") {
  std::set<std::string> seen;
  for (std::size_t n : {1, 7, 8, 15, 16, 17, 32, 55}) {
    std::string id(n, '\0');
    random_hex(id.data(), n);
    INFO(id);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(seen.insert(id).second);
  }
  // Every digit turns up in a few thousand of them (the SWAR conversion covers the whole range).
  std::set<char> digits;
  for (int i = 0; i < 1000; ++i) {
    char id[32];
    random_hex(id, sizeof id);
    digits.insert(id, id + sizeof id);
  }
  CHECK(digits.size() == 16);
}

TEST_CASE("only a WebSocket upgrade may switch protocols, h2c is forwarded as a plain request", "[forward][upgrade]") {
  auto ws = parse_req("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  CHECK(upgrade_allowed(ws));
  auto ws_case = parse_req("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: WebSocket\r\n\r\n");
  CHECK(upgrade_allowed(ws_case));
  auto h2c = parse_req(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
  CHECK_FALSE(upgrade_allowed(h2c));
  auto both = parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket, h2c\r\n\r\n");
  CHECK_FALSE(upgrade_allowed(both));
  auto no_connection = parse_req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
  CHECK_FALSE(upgrade_allowed(no_connection));
  auto with_body = parse_req("POST / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\n");
  CHECK_FALSE(upgrade_allowed(with_body));

  std::string out;
  request_forwarding f;
  f.upgrade = upgrade_allowed(h2c);
  write_request_head(h2c, f, out);
  for (const char* gone : {"Upgrade", "HTTP2-Settings", "Connection"}) CHECK_FALSE(has_field(out, gone));
  // HTTP2-Settings is dropped even when Connection does not name it.
  auto bare = parse_req("GET / HTTP/1.1\r\nHost: a\r\nHTTP2-Settings: AAMAAABk\r\n\r\n");
  out.clear();
  write_request_head(bare, {}, out);
  CHECK_FALSE(has_field(out, "HTTP2-Settings"));
  CHECK(http1::classify("http2-SETTINGS") == http1::field::http2_settings);
}

TEST_CASE("a request without Host gets the upstream's name, as HTTP/1.1 requires", "[forward][host]") {
  auto old = parse_req("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n");
  request_forwarding f;
  f.upstream_host = "127.0.0.1:8081";
  std::string out;
  write_request_head(old, f, out);
  CHECK(out.rfind("GET / HTTP/1.1\r\nHost: 127.0.0.1:8081\r\n", 0) == 0);
  CHECK_FALSE(has_field(out, "X-Forwarded-Host"));
  // The result is a request a strict HTTP/1.1 parser accepts, with exactly one Host.
  http1::request_head again;
  http1::error e;
  REQUIRE(http1::parse_request(out, again, e) == http1::parse_state::complete);
  CHECK(again.host == "127.0.0.1:8081");

  // A client's Host is kept as it is, and an empty one (allowed by RFC 9112) is not doubled.
  auto named = parse_req("GET / HTTP/1.0\r\nHost: shop.example\r\n\r\n");
  out.clear();
  write_request_head(named, f, out);
  CHECK(has_line(out, "Host: shop.example"));
  CHECK(out.find("127.0.0.1:8081") == std::string::npos);
  auto empty = parse_req("GET / HTTP/1.1\r\nHost:\r\n\r\n");
  out.clear();
  write_request_head(empty, f, out);
  CHECK(out.find("127.0.0.1:8081") == std::string::npos);
}

TEST_CASE("a normalised target replaces the one sent", "[forward][path]") {
  auto req = parse_req("GET /api/./products HTTP/1.1\r\nHost: a\r\n\r\n");
  request_forwarding f;
  f.target = "/api/products";
  std::string out;
  write_request_head(req, f, out);
  CHECK(out.rfind("GET /api/products HTTP/1.1\r\n", 0) == 0);
}
