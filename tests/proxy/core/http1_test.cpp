#include "banyan/proxy/http1.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <string>

using namespace banyan::proxy::http1;

namespace {
// Parsed heads are views into their buffer: keep every buffer a test parses alive to the end.
const std::string& kept(const std::string& raw) {
  static std::deque<std::string> keep;
  return keep.emplace_back(raw);
}

struct parsed {
  parse_state state;
  request_head head;
  error err;
};
parsed parse(const std::string& raw, limits lim = {}) {
  parsed p;
  p.state = parse_request(kept(raw), p.head, p.err, lim);
  return p;
}
int status_of(const std::string& raw) {
  auto p = parse(raw);
  return p.state == parse_state::failed ? p.err.status : (p.state == parse_state::complete ? 200 : 0);
}
}  // namespace

TEST_CASE("a well-formed request parses into views of the buffer", "[http1]") {
  const std::string raw =
      "POST /api/orders?x=1 HTTP/1.1\r\nHost: shop.local\r\nContent-Type: application/json\r\n"
      "Content-Length: 12\r\nX-Empty:\r\n\r\n{\"a\":1}     ";
  request_head h;
  error err;
  REQUIRE(parse_request(raw, h, err) == parse_state::complete);
  CHECK(h.method == "POST");
  CHECK(h.target == "/api/orders?x=1");
  CHECK(h.version_minor == 1);
  CHECK(h.host == "shop.local");
  CHECK(h.body == body_kind::length);
  CHECK(h.content_length == 12);
  CHECK(h.keep_alive);
  CHECK(h.header_count == 4);
  CHECK(h.find("x-empty")->value.empty());
  CHECK(h.head_bytes == raw.find("{"));
  // Views point into the buffer: nothing was copied.
  CHECK(h.method.data() == raw.data());
}

TEST_CASE("an incomplete head asks for more bytes", "[http1]") {
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\n").state == parse_state::incomplete);
  CHECK(parse("GET / HT").state == parse_state::incomplete);
}

TEST_CASE("every prefix of a head is incomplete, a refused head is refused as soon as its fault arrives", "[http1]") {
  const std::string good =
      "POST /api/orders HTTP/1.1\r\nHost: shop.local\r\nContent-Length: 2\r\nX-Tab:\ta\tb\r\n"
      "X-Long: " + std::string(40, 'v') + "\r\n\r\n";
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO(n);
    REQUIRE(parse(good.substr(0, n)).state == parse_state::incomplete);
  }
  CHECK(parse(good).state == parse_state::complete);
  CHECK(parse(good).head.find("x-tab")->value == "a\tb");
  // A fault is never mistaken for a complete head, whatever has arrived after it.
  const std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01" "b\r\nX-B: " + std::string(40, 'v') + "\r\n\r\n";
  const auto fault = bad.find('\x01');
  for (std::size_t n = 0; n <= bad.size(); ++n) {
    INFO(n);
    const auto p = parse(bad.substr(0, n));
    if (n <= fault) CHECK(p.state == parse_state::incomplete);
    else if (n > bad.find("\r\n", fault)) CHECK(p.state == parse_state::failed);  // its line has ended
    else CHECK(p.state != parse_state::complete);
  }
}

TEST_CASE("control characters are found wherever they sit in a long line", "[http1]") {
  // Lines longer than one 16-byte scan step, with the fault at every offset.
  for (std::size_t at = 0; at < 48; ++at) {
    for (char c : {'\0', '\x1f', '\x7f', '\r', '\n'}) {
      std::string value(48, 'x');
      value[at] = c;
      INFO(at << " " << static_cast<int>(c));
      CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + value + "\r\n\r\n") == 400);
    }
    std::string tabbed(48, 'x');
    tabbed[at] = '\t';
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + tabbed + "\r\n\r\n") == 200);
    std::string high(48, 'x');
    high[at] = static_cast<char>(0xE9);  // obs-text is allowed in values
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + high + "\r\n\r\n") == 200);
  }
}

TEST_CASE("field names are recognised in any case", "[http1]") {
  CHECK(classify("content-length") == field::content_length);
  CHECK(classify("CONTENT-LENGTH") == field::content_length);
  CHECK(classify("Content-Lengtg") == field::other);
  CHECK(classify("Content_Length") == field::other);
  CHECK(classify("X-Forwarded-Proto") == field::x_forwarded_proto);
  CHECK(classify("x-forwarded-protO") == field::x_forwarded_proto);
  CHECK(classify("Transfer-Encodinf") == field::other);
  CHECK(classify("TE") == field::te);
  CHECK(classify("Tf") == field::other);
  CHECK(classify("VIA") == field::via);
  CHECK(classify("Proxy-Authorization") == field::proxy_prefixed);
  CHECK(classify("Proxy") == field::other);
  CHECK(classify("traceParent") == field::traceparent);
  CHECK(classify("x-request-iD") == field::x_request_id);
  CHECK(classify("X-Request-Ie") == field::other);
}

TEST_CASE("keep-alive follows the version and Connection", "[http1]") {
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").head.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keep_alive);
  auto up = parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n");
  CHECK(up.head.connection_upgrade);
  CHECK(up.head.upgrade == "websocket");
}

TEST_CASE("request smuggling shapes are refused with the right status", "[http1][smuggling]") {
  const std::string host = "Host: a\r\n";
  // Content-Length with Transfer-Encoding, in either order.
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == 400);
  // Duplicate or malformed Content-Length.
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length: +3\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length: 0x3\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n") == 400);
  // Unknown or listed transfer codings.
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n") == 501);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n") == 501);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n") == 501);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n") == 501);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: CHUNKED\r\n\r\n") == 200);
  // obs-fold.
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + "X-A: 1\r\n  continued\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + "X-A: 1\r\n\tcontinued\r\n\r\n") == 400);
  // CR, LF, NUL in fields; bare line ends.
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + "X-A: a\rb\r\n\r\n") == 400);
  CHECK(status_of(std::string("GET / HTTP/1.1\r\n") + host + "X-A: a" + std::string(1, '\0') + "b\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\nHost: a\n\n") == 400);
  CHECK(parse("GET / HTTP/1.1\nHost: a\n\n").err.code == std::string_view("bad_line_ending"));
  CHECK(parse(std::string("GET /a") + '\0' + "b HTTP/1.1\r\nHost: a\r\n\r\n").err.code == std::string_view("bad_request_line"));
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n") == 400);
  // Whitespace before the colon, bad names.
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + "X-A\t: 1\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + ": nameless\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\n" + host + "X(A): 1\r\n\r\n") == 400);
  // Host rules.
  CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.0\r\n\r\n") == 200);
  // Versions and request lines.
  CHECK(status_of("GET / HTTP/2.0\r\n" + host + "\r\n") == 505);
  CHECK(status_of("GET / HTTP/1.2\r\n" + host + "\r\n") == 505);
  CHECK(status_of("GET / HTTP/0.9\r\n" + host + "\r\n") == 505);
  CHECK(status_of("GET / HTTP/1.1x\r\n" + host + "\r\n") == 400);
  CHECK(status_of("GET / http/1.1\r\n" + host + "\r\n") == 400);
  CHECK(status_of("GET  / HTTP/1.1\r\n" + host + "\r\n") == 400);
  CHECK(status_of("GET /a b HTTP/1.1\r\n" + host + "\r\n") == 400);
  CHECK(status_of("G@T / HTTP/1.1\r\n" + host + "\r\n") == 400);
  CHECK(status_of("GET http://evil/ HTTP/1.1\r\n" + host + "\r\n") == 400);
  CHECK(status_of("CONNECT a:443 HTTP/1.1\r\n" + host + "\r\n") == 501);
  CHECK(status_of("OPTIONS * HTTP/1.1\r\n" + host + "\r\n") == 200);
}

TEST_CASE("oversized heads and too many fields are 431", "[http1]") {
  limits lim;
  lim.max_head_bytes = 256;
  auto big = parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'a') + "\r\n\r\n", lim);
  CHECK(big.state == parse_state::failed);
  CHECK(big.err.status == 431);
  auto waiting = parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'a'), lim);
  CHECK(waiting.err.status == 431);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 120; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(status_of(many + "\r\n") == 431);
}

TEST_CASE("responses: framing by status, method and headers", "[http1]") {
  auto resp = [](std::string_view raw, std::string_view method = "GET") {  // literals: views stay valid
    response_head h;
    error e;
    auto st = parse_response(raw, method, h, e);
    return std::tuple{st, h, e};
  };
  {
    auto [st, h, e] = resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    REQUIRE(st == parse_state::complete);
    CHECK(h.status == 200);
    CHECK(h.reason == "OK");
    CHECK(h.body == body_kind::length);
  }
  {
    auto [st, h, e] = resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD");
    CHECK(h.body == body_kind::none);
  }
  {
    auto [st, h, e] = resp("HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(h.body == body_kind::none);
    CHECK(h.keep_alive);
  }
  {
    auto [st, h, e] = resp("HTTP/1.1 200 OK\r\n\r\n");
    CHECK(h.body == body_kind::until_close);
    CHECK_FALSE(h.keep_alive);
  }
  {
    auto [st, h, e] = resp("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n");
    REQUIRE(st == parse_state::complete);
    CHECK(h.body == body_kind::chunked);
  }
  for (const char* garbage : {"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    auto [st, h, e] = resp(garbage);
    INFO(garbage);
    CHECK(st == parse_state::failed);
    CHECK(e.status == 502);
  }
}

TEST_CASE("chunked bodies are validated as they stream, split anywhere", "[http1][chunked]") {
  const std::string body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: yes\r\n\r\nNEXT";
  for (std::size_t split = 0; split <= body.size(); ++split) {
    chunked_decoder d;
    auto a = d.feed(std::string_view(body).substr(0, split));
    REQUIRE_FALSE(a.err);
    std::size_t used = a.consumed;
    if (!a.done) {
      auto b = d.feed(std::string_view(body).substr(split));
      REQUIRE_FALSE(b.err);
      REQUIRE(b.done);
      used += b.consumed;
    }
    CHECK(body.substr(used) == "NEXT");
    CHECK(d.body_bytes() == 4 + 5 + 14);
  }
}

TEST_CASE("bad chunk framing is refused", "[http1][chunked]") {
  for (const char* bad_body : {"g\r\n", "\r\n", " 4\r\nWiki\r\n0\r\n\r\n", "4 \r\nWiki\r\n0\r\n\r\n",
                               "4\nWiki\r\n0\r\n\r\n", "4\r\nWikiX\r\n", "4\r\nWiki\n", "-1\r\n",
                               "fffffffffffffffffff\r\n", "0\r\n bad-trailer\r\n\r\n", "0\r\n\rX"}) {
    chunked_decoder d;
    auto r = d.feed(bad_body);
    INFO(bad_body);
    CHECK(r.err.status == 400);
  }
}

TEST_CASE("list_contains finds tokens in comma lists", "[http1]") {
  CHECK(list_contains("keep-alive, Upgrade", "upgrade"));
  CHECK(list_contains("close", "close"));
  CHECK_FALSE(list_contains("closed", "close"));
  CHECK_FALSE(list_contains("", "close"));
}

TEST_CASE("received messages leave room for the fields the proxy adds", "[http1][limits]") {
  auto request_with = [](std::size_t fields) {
    std::string r = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (std::size_t i = 1; i < fields; ++i) r += "X-F" + std::to_string(i) + ": v\r\n";
    return r + "\r\n";
  };
  request_head h;
  error e;
  const auto ok = request_with(max_received_headers);
  CHECK(parse_request(ok, h, e) == parse_state::complete);
  const auto over = request_with(max_received_headers + 1);
  CHECK(parse_request(over, h, e) == parse_state::failed);
  CHECK(e.status == 431);
  // A parser downstream of the proxy takes the full 100.
  CHECK(parse_request(over, h, e, {16 * 1024, max_headers}) == parse_state::complete);
  CHECK(max_received_headers + forwarding_fields == max_headers);
}
