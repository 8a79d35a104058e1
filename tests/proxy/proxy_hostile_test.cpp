// What the public hostile-request corpus found in banyan-proxy, as the project's own tests: h2c
// smuggling, HTTP/1.0 without Host, dot-segment and encoded-slash spellings, and upstream
// connections thrown away after requests that never reached them.
#include "support/http_client.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_upstream.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace banyan::test;

namespace {
std::string routes_json(const std::string& service_url, const std::string& path) {
  return R"({"services":{"svc":")" + service_url + R"("},"routes":[{"id":"x","match":{"path":")" + path +
         R"("},"service":"svc","mode":"service"}]})";
}
}  // namespace

TEST_CASE("proxy: an h2c upgrade is never tunnelled, and a backend switching anyway is refused", "[proxy][hostile]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());

  // Forwarded as a plain request: no Upgrade, no HTTP2-Settings, no Connection: upgrade.
  auto seen = http_call(proxy.port, "GET", "/echo", {},
                        {{"Connection", "Upgrade, HTTP2-Settings"}, {"Upgrade", "h2c"}, {"HTTP2-Settings", "AAMAAABkAAQAAP__"}});
  REQUIRE(seen.status == 200);
  CHECK(seen.body.find("Upgrade") == std::string::npos);
  CHECK(seen.body.find("HTTP2-Settings") == std::string::npos);

  // A backend that answers 101 to it (the test upstream's /ws always does) opens no tunnel: the
  // client gets 502 and the connection closes, so nothing after it can pass unseen.
  http_connection c(proxy.port);
  c.send_raw("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
             "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
             "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(r->body.find("unexpected_upgrade") != std::string::npos);
  CHECK(c.closed_by_peer(std::chrono::seconds(2)));
  for (const auto& p : monolith.paths()) CHECK(p.find("smuggled") == std::string::npos);

  // WebSocket still passes (the tunnel test in proxy_process_test covers the bytes).
  http_connection ws(proxy.port);
  ws.send_raw("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  auto w = ws.read_reply(true);
  REQUIRE(w);
  CHECK(w->status == 101);
}

TEST_CASE("proxy: an HTTP/1.0 request without Host reaches the upstream with one", "[proxy][hostile]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  http_connection c(proxy.port);
  c.send_raw("GET /echo HTTP/1.0\r\n\r\n");
  auto r = c.read_reply();
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->body.rfind("GET /echo HTTP/1.1\r\n", 0) == 0);
  CHECK(r->body.find("\r\nHost: 127.0.0.1:" + std::to_string(monolith.port()) + "\r\n") != std::string::npos);
}

TEST_CASE("proxy: paths are matched and forwarded in one spelling, ambiguous ones are refused", "[proxy][hostile]") {
  temp_dir dir;
  test_upstream monolith("monolith"), service("service");
  proxy_process proxy(dir, monolith.url());
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), "/api/products/**")).status == 200);

  // Each spelling of a service path reaches the service, as the canonical path.
  for (const char* t : {"/api/products/7", "/api/./products/7", "/x/../api/products/7", "/api/%70roducts/7",
                        "/api/products/%2e/7", "/shop/%2E%2E/api/products/7"}) {
    INFO(t);
    auto r = http_call(proxy.port, "GET", t);
    CHECK(r.status == 200);
    CHECK(r.body == "service /api/products/7");
  }
  // A spelling that leaves the route's prefix goes to the monolith, normalised.
  auto out = http_call(proxy.port, "GET", "/api/products/../orders/1");
  CHECK(out.body == "monolith /api/orders/1");

  const int before = monolith.requests() + service.requests();
  for (const char* t : {"/../../etc/passwd", "/api/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/api%2Fproducts/7",
                        "/api/products%5c7", "/api\\products/7", "/api/products/%zz", "/api/%00"}) {
    INFO(t);
    auto r = http_call(proxy.port, "GET", t);
    CHECK(r.status == 400);
    CHECK(r.body.find("\"code\":\"bad_path_") != std::string::npos);
  }
  CHECK(monolith.requests() + service.requests() == before);  // none reached an upstream
}

TEST_CASE("proxy: a request that fails before reaching the upstream leaves its connection pooled", "[proxy][hostile]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "timeouts:\n  body: 300ms\n");
  REQUIRE(http_call(proxy.port, "GET", "/warm").status == 200);
  REQUIRE(monolith.connections() == 1);
  for (int i = 0; i < 5; ++i) {
    {  // a malformed first chunk: refused, nothing written upstream
      http_connection c(proxy.port);
      c.send_raw("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
      auto r = c.read_reply();
      REQUIRE(r);
      CHECK(r->status == 400);
    }
    {  // a client that announces a body and leaves without sending it
      http_connection c(proxy.port);
      c.send_raw("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
    }
    {  // a client that stalls before its body: the body deadline fires
      http_connection c(proxy.port);
      c.send_raw("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto r = http_call(proxy.port, "GET", "/after");
  CHECK(r.status == 200);
  CHECK(monolith.connections() == 1);  // all of it over the first connection
  CHECK(monolith.requests() == 2);
}
