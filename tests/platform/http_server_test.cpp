// The Beast server scaffolding driven over real loopback sockets, in-process, on port 0.
#include "banyan/platform/http_server.hpp"

#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace banyan;
using banyan::test::http_connection;

namespace {

http::response handle(http::request& req) {
  if (req.path == "/echo") {
    http::response res;
    res.headers.set("Content-Type", "text/plain");
    res.body = req.method + " " + req.path + " " + req.body;
    return res;
  }
  if (req.path == "/slow") {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    http::response res;
    res.body = "finally";
    return res;
  }
  if (req.path == "/boom") throw std::runtime_error("secret database detail");
  if (req.path == "/json") {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    return http::json_response(200, *body);
  }
  return http::error_response(404, "not_found", "nothing here");
}

// A server on its own thread for the duration of a test.
struct running_server {
  explicit running_server(http::server_options o = {}) {
    o.port = 0;
    o.threads = 2;
    o.handle_signals = false;
    o.access_log = false;
    if (o.header_limit == http::server_options{}.header_limit) o.header_limit = 2048;
    if (o.body_limit == http::server_options{}.body_limit) o.body_limit = 4096;
    srv = std::make_unique<http::server>(o, handle, &metrics);
    port = srv->port();
    done = std::async(std::launch::async, [this] { srv->run(); });
  }
  ~running_server() {
    srv->stop();
    done.wait();
  }
  metrics::registry metrics;
  std::unique_ptr<http::server> srv;
  std::uint16_t port = 0;
  std::future<void> done;
};

}  // namespace

TEST_CASE("keep-alive serves several requests on one connection with request ids", "[server]") {
  running_server s;
  http_connection c(s.port);
  auto a = c.request("GET", "/echo");
  auto b = c.request("POST", "/echo", "hello");
  CHECK(a.status == 200);
  CHECK(a.body == "GET /echo ");
  CHECK(b.body == "POST /echo hello");
  REQUIRE(a.header("X-Request-Id"));
  CHECK(a.header("X-Request-Id")->size() == 32);
  CHECK(*a.header("X-Request-Id") != *b.header("X-Request-Id"));

  auto kept = c.request("GET", "/echo", "", {{"X-Request-Id", "client-id-1"}});
  CHECK(*kept.header("X-Request-Id") == "client-id-1");
  auto replaced = c.request("GET", "/echo", "", {{"X-Request-Id", "bad id with spaces"}});
  CHECK(*replaced.header("X-Request-Id") != "bad id with spaces");
}

TEST_CASE("pipelined requests are answered in order", "[server]") {
  running_server s;
  http_connection c(s.port);
  c.send_raw("GET /echo?1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
             "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r1 = c.read_reply(), r2 = c.read_reply(), r3 = c.read_reply();
  REQUIRE((r1 && r2 && r3));
  CHECK(r1->body == "GET /echo ");
  CHECK(r2->body == "POST /echo abc");
  CHECK(r3->status == 404);
}

TEST_CASE("limits and malformed requests get JSON errors with the right status", "[server]") {
  running_server s;
  auto expect_status = [&](const std::string& raw, int status) {
    http_connection c(s.port);
    c.send_raw(raw);
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(r->body.find("\"error\"") != std::string::npos);
    CHECK(c.closed_by_peer(std::chrono::seconds(2)));
  };
  SECTION("413 for a body over the limit") {
    expect_status("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a'), 413);
  }
  SECTION("431 for headers over the limit") {
    expect_status("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n", 431);
  }
  SECTION("400 for a malformed request line") { expect_status("GARBAGE\r\n\r\n", 400); }
  SECTION("400 for HTTP/1.1 without Host") { expect_status("GET /echo HTTP/1.1\r\n\r\n", 400); }
  SECTION("505 for an unknown HTTP version") { expect_status("GET /echo HTTP/2.0\r\nHost: x\r\n\r\n", 505); }
  SECTION("400 for a malformed Content-Length") {
    expect_status("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400);
  }
}

TEST_CASE("a JSON endpoint answers 411 when a POST frames no body", "[server]") {
  running_server s;
  http_connection c(s.port);
  c.send_raw("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n");
  auto r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 411);
}

TEST_CASE("a client too slow to send its headers gets 408", "[server]") {
  http::server_options o;
  o.header_timeout = std::chrono::milliseconds(300);
  running_server s(o);
  http_connection c(s.port);
  c.send_raw("GET /echo HTTP/1.1\r\nHo");
  auto r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 408);

  // An idle keep-alive connection is closed quietly.
  http_connection idle(s.port);
  CHECK(idle.request("GET", "/echo").status == 200);
  CHECK(idle.closed_by_peer(std::chrono::seconds(3)));
}

TEST_CASE("a throwing handler is a 500 that leaks nothing", "[server]") {
  running_server s;
  auto r = banyan::test::http_call(s.port, "GET", "/boom");
  CHECK(r.status == 500);
  CHECK(r.body.find("secret") == std::string::npos);
  CHECK(r.body.find("internal_error") != std::string::npos);
}

TEST_CASE("HEAD gets the headers and length without a body, Expect: 100-continue works", "[server]") {
  running_server s;
  http_connection c(s.port);
  auto head = c.request("HEAD", "/echo");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(*head.header("Content-Length") == "11");  // "HEAD /echo ", the body a GET-like answer would carry
  // The connection is still usable afterwards: no stray body bytes.
  CHECK(c.request("GET", "/echo").body == "GET /echo ");

  c.send_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  auto cont = c.read_reply();
  REQUIRE(cont);
  CHECK(cont->status == 100);
  c.send_raw("hi");
  auto final_reply = c.read_reply();
  REQUIRE(final_reply);
  CHECK(final_reply->body == "POST /echo hi");
}

TEST_CASE("metrics count requests by route and status", "[server]") {
  running_server s;
  banyan::test::http_call(s.port, "GET", "/nope");
  const auto text = s.metrics.render();
  CHECK(text.find("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1") != std::string::npos);
  CHECK(text.find("http_connections_active") != std::string::npos);
}

TEST_CASE("stop drains: in-flight requests finish, then run returns", "[server]") {
  auto s = std::make_unique<running_server>();
  http_connection busy(s->port);
  http_connection idle(s->port);
  CHECK(idle.request("GET", "/echo").status == 200);
  busy.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s->srv->stop();
  auto r = busy.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "finally");
  REQUIRE(r->header("Connection"));
  CHECK(*r->header("Connection") == "close");
  CHECK(idle.closed_by_peer(std::chrono::seconds(2)));
  CHECK(s->done.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK_THROWS(http_connection(s->port));
}
