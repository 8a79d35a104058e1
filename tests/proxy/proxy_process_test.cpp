// banyan-proxy as users run it: the real binary on port 0, in front of real upstreams.
#include "banyan/proxy/bucket.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_upstream.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace banyan::test;

namespace {

std::string routes_json(const std::string& service_url, const std::string& mode, int percent = 0,
                        const std::string& path = "/api/x") {
  return R"({"services":{"svc":")" + service_url + R"("},"routes":[{"id":"x","match":{"path":")" + path +
         R"("},"service":"svc","mode":")" + mode + R"(","percent":)" + std::to_string(percent) +
         R"(,"canary_key":{"header":"X-User"}}]})";
}

int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nothing listens there now
  return ntohs(addr.sin_port);
}

// `clients` threads at once, each sending `each` GETs of `target` on its own connections: how many
// were answered 200.
int answered_ok(std::uint16_t port, int clients, int each, const std::string& target) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < each; ++j)
        if (http_call(port, "GET", target).status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  return ok;
}

}  // namespace

TEST_CASE("proxy: forwarding headers are set and hop-by-hop ones stripped", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  auto r = http_call(proxy.port, "GET", "/echo",
                     {},
                     {{"Connection", "keep-alive, X-Secret"},
                      {"X-Secret", "s"},
                      {"Keep-Alive", "timeout=5"},
                      {"Proxy-Authorization", "Basic x"},
                      {"X-Forwarded-For", "10.0.0.1"},
                      {"X-Request-Id", "my-request-1"},
                      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
  REQUIRE(r.status == 200);
  const std::string& seen = r.body;  // the head as the upstream received it
  CHECK(seen.find("X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n") != std::string::npos);
  CHECK(seen.find("X-Forwarded-Proto: http\r\n") != std::string::npos);
  CHECK(seen.find("X-Forwarded-Host: 127.0.0.1\r\n") != std::string::npos);
  CHECK(seen.find("Via: 1.1 banyan\r\n") != std::string::npos);
  CHECK(seen.find("X-Request-Id: my-request-1\r\n") != std::string::npos);
  CHECK(seen.find("traceparent: 00-0af7651916cd43dd8448eb211c80319c-") != std::string::npos);
  for (const char* gone : {"X-Secret", "Keep-Alive", "Proxy-Authorization", "Connection"})
    CHECK(seen.find(std::string("\r\n") + gone + ":") == std::string::npos);
  CHECK(*r.header("X-Request-Id") == "my-request-1");
  CHECK(*r.header("Via") == "1.1 banyan");

  auto fresh = http_call(proxy.port, "GET", "/echo");
  CHECK(fresh.header("X-Request-Id")->size() == 32);
  CHECK(fresh.body.find("traceparent: 00-") != std::string::npos);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: smuggling shapes and bad requests are refused and never forwarded", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "limits: {max_body_bytes: 1KiB, max_head_bytes: 4KiB}\ntimeouts: {header: 400ms}\n");
  auto status_of = [&](const std::string& raw) {
    http_connection c(proxy.port);
    c.send_raw(raw);
    auto r = c.read_reply();
    return r ? r->status : 0;
  };
  CHECK(status_of("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(status_of("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc") == 400);
  CHECK(status_of("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501);
  CHECK(status_of("GET /x HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n") == 400);
  CHECK(status_of("GET /x HTTP/1.1\r\nHost : a\r\n\r\n") == 400);
  CHECK(status_of("GET /x HTTP/1.1\r\n\r\n") == 400);
  CHECK(status_of("GET /x HTTP/3.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(status_of("GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n") == 431);
  CHECK(status_of("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n") == 413);
  CHECK(status_of("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 400);
  // A chunked body is held to the same limit as it streams.
  CHECK(status_of("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                  std::string(0x800, 'c') + "\r\n0\r\n\r\n") == 413);
  CHECK(status_of("GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: 1") == 408);
  // Nothing refused reached the upstream complete (the chunked one was cut off mid-body).
  CHECK(monolith.requests() == 0);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: upstream failures become 502 and 504", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "timeouts: {upstream: 300ms, connect: 300ms}\n");
  CHECK(http_call(proxy.port, "GET", "/slow?ms=1500").status == 504);
  CHECK(http_call(proxy.port, "GET", "/garbage").status == 502);
  auto reset = http_call(proxy.port, "GET", "/reset");
  CHECK(reset.status == 502);
  CHECK(reset.body.find("upstream_closed") != std::string::npos);
  {
    // Reset after the head reached the client: the client sees the connection end early.
    http_connection c(proxy.port, std::chrono::seconds(3));
    c.send_raw("GET /reset-mid HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_FALSE(c.read_reply());
  }
  CHECK(http_call(proxy.port, "GET", "/fine").status == 200);
  CHECK(proxy.stop() == 0);

  temp_dir dir2;
  proxy_process down(dir2, "http://127.0.0.1:" + std::to_string(closed_port()));
  auto r = http_call(down.port, "GET", "/anything");
  CHECK(r.status == 502);
  CHECK(boost::json::parse(r.body).at("error").at("code").as_string() == "upstream_unreachable");
  CHECK(down.stop() == 0);
}

TEST_CASE("proxy: keep-alive, pipelining and pooled upstream connections", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  http_connection c(proxy.port);
  for (int i = 0; i < 20; ++i) CHECK(c.request("GET", "/item/" + std::to_string(i)).body == "monolith /item/" + std::to_string(i));
  CHECK(monolith.connections() == 1);  // one pooled upstream connection served them all
  c.send_raw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.read_reply(), b = c.read_reply(), d = c.read_reply();
  REQUIRE((a && b && d));
  CHECK(a->body == "monolith /a");
  CHECK(b->body == "monolith /b");
  CHECK(d->body == "monolith /c");
  // Chunked both ways.
  c.send_raw("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n");
  auto up = c.read_reply();
  REQUIRE(up);
  CHECK(up->body == "9");
  CHECK(c.request("GET", "/chunked").body == "hello, world");
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: 1 GiB streams through both ways in constant memory", "[proxy][slow]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  constexpr std::uint64_t gib = 1ull << 30;
  {
    http_connection c(proxy.port, std::chrono::seconds(30));
    c.send_raw("GET /big?bytes=" + std::to_string(gib) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto received = c.drain_body_after_head();
    CHECK(received == gib);
  }
  {
    http_connection c(proxy.port, std::chrono::seconds(30));
    c.send_raw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(gib) + "\r\n\r\n");
    const std::string block(1 << 20, 'u');
    for (std::uint64_t sent = 0; sent < gib; sent += block.size()) c.send_raw(block);
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->body == std::to_string(gib));
  }
  const long peak = proxy.peak_rss_kb();
  INFO("peak RSS " << peak << " KiB");
  CHECK(peak > 0);
  // Buffers are 32 KiB a direction; a copy of the body would be 1 GiB. ASan's shadow memory and
  // quarantine add their own tens of MiB.
#if defined(__SANITIZE_ADDRESS__)
  CHECK(peak < 256 * 1024);
#else
  CHECK(peak < 48 * 1024);
#endif
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: canary assigns users by bucket, stable per user", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith"), service("service");
  proxy_process proxy(dir, monolith.url());
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), "canary", 30)).status == 200);
  http_connection c(proxy.port);
  int to_service = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string user = "user-" + std::to_string(i);
    const bool expected = banyan::proxy::bucket_of("svc", user) < 3000;
    for (int repeat = 0; repeat < 2; ++repeat) {
      auto r = c.request("GET", "/api/x", {}, {{"X-User", user}});
      REQUIRE(r.status == 200);
      CHECK(r.body.starts_with(expected ? "service" : "monolith"));
    }
    to_service += expected;
  }
  CHECK(to_service > 60);
  CHECK(to_service < 120);
  // Other paths are not the route's: the monolith serves them.
  CHECK(c.request("GET", "/api/y", {}, {{"X-User", "user-1"}}).body == "monolith /api/y");
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: a failing service falls back for safe requests and opens its circuit", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "timeouts: {connect: 300ms}\n");
  const std::string dead = "http://127.0.0.1:" + std::to_string(closed_port());
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(dead, "service", 100, "/api/**")).status == 200);
  for (int i = 0; i < 8; ++i) {
    auto r = http_call(proxy.port, "GET", "/api/products/1");
    CHECK(r.status == 200);
    CHECK(r.body == "monolith /api/products/1");
  }
  CHECK(http_call(proxy.port, "POST", "/api/orders", "{}").status >= 502);  // writes never fall back
  // The clients saw the monolith's answers; the service's failures still count as its errors
  // (error_rate gates), not as the monolith's success alone: the five it was asked and refused,
  // not the three the open circuit kept from it.
  const auto metrics = http_call(proxy.admin_port, "GET", "/metrics").body;
  INFO(metrics);
  CHECK(metrics.find(R"(banyan_requests_total{route="x",mode="service",upstream="service",class="error"} 5)") !=
        std::string::npos);
  CHECK(metrics.find(R"(banyan_requests_total{route="x",mode="service",upstream="monolith",class="2xx"} 8)") !=
        std::string::npos);
  auto services = boost::json::parse(proxy.admin("GET", "/api/v1/services").body).at("services").as_array();
  bool open = false;
  for (const auto& s : services)
    if (s.at("name").as_string() == "svc") open = s.at("circuit").as_string() == "open";
  CHECK(open);
  auto blocked = http_call(proxy.port, "POST", "/api/orders", "{}");
  CHECK(blocked.status == 503);
  CHECK(blocked.body.find("circuit_open") != std::string::npos);
  CHECK(proxy.stop() == 0);
}

namespace {
// A service that fails on demand: while `failing`, it closes each connection without answering;
// otherwise it answers 200 "recovered" (and closes). Counts the requests it was asked.
struct flaky_service {
  std::atomic<bool> failing{true};
  std::atomic<int> asked{0};
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::thread loop;
  flaky_service() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::listen(fd, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    loop = std::thread([this] {
      while (!stop) {
        const int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) break;
        std::string head;
        char buf[2048];
        while (head.find("\r\n\r\n") == std::string::npos) {
          const ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          head.append(buf, static_cast<std::size_t>(n));
        }
        if (!head.empty()) ++asked;
        if (!failing && !head.empty()) {
          const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nrecovered";
          (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
        ::close(c);
      }
    });
  }
  ~flaky_service() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    loop.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};
}  // namespace

TEST_CASE("proxy: a service's circuit opens and closes as circuit_breaker configures it", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  flaky_service service;
  proxy_process proxy(dir, monolith.url(),
                      "circuit_breaker: {consecutive_failures: 4, open_for: 1s}\n"
                      "health_checks: {path: \"\"}\n");
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), "service", 100, "/**")).status == 200);
  auto circuit = [&] {
    const auto services = boost::json::parse(proxy.admin("GET", "/api/v1/services").body);
    for (const auto& s : services.at("services").as_array())
      if (s.at("name").as_string() == "svc") return std::string(s.at("circuit").as_string());
    return std::string("?");
  };
  // The service closes connections without answering: each GET falls back to the monolith and
  // counts one failure against the service (a fresh connection's failure is not retried).
  for (int i = 0; i < 3; ++i) CHECK(http_call(proxy.port, "GET", "/a").body == "monolith /a");
  CHECK(service.asked == 3);
  CHECK(circuit() == "closed");  // 3 of the 4 configured
  CHECK(http_call(proxy.port, "GET", "/a").body == "monolith /a");
  CHECK(circuit() == "open");
  // Open: the service is not asked at all, even once it could answer.
  service.failing = false;
  for (int i = 0; i < 5; ++i) CHECK(http_call(proxy.port, "GET", "/a").body == "monolith /a");
  CHECK(service.asked == 4);
  // After open_for, one probe goes through; its success closes the circuit.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(http_call(proxy.port, "GET", "/a").body == "recovered");
  CHECK(circuit() == "closed");
  CHECK(http_call(proxy.port, "GET", "/a").body == "recovered");
  CHECK(service.asked == 6);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: admin needs the token, state survives a restart", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith"), service("service");
  proxy_process proxy(dir, monolith.url());
  CHECK(http_call(proxy.admin_port, "GET", "/api/v1/routes").status == 401);
  CHECK(http_call(proxy.admin_port, "GET", "/api/v1/routes", {}, {{"Authorization", "Bearer nope"}}).status == 401);
  CHECK(http_call(proxy.admin_port, "GET", "/healthz").status == 200);
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), "service", 100)).status == 200);
  CHECK(http_call(proxy.port, "GET", "/api/x").body == "service /api/x");
  CHECK(proxy.stop() == 0);

  proxy.start();
  CHECK(http_call(proxy.port, "GET", "/api/x").body == "service /api/x");
  auto routes = boost::json::parse(proxy.admin("GET", "/api/v1/routes").body);
  CHECK(routes.at("routes").at(0).at("mode").as_string() == "service");
  auto audit = boost::json::parse(proxy.admin("GET", "/api/v1/audit").body).at("entries").as_array();
  REQUIRE(audit.size() == 2);
  CHECK(audit[1].at("operator").as_string() == "test");
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: SIGTERM drains in-flight requests and exits 0", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  http_connection busy(proxy.port, std::chrono::seconds(10));
  busy.send_raw("GET /slow?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  proxy.proc->signal(SIGTERM);
  auto r = busy.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(*r->header("Connection") == "close");
  CHECK(proxy.proc->wait(std::chrono::seconds(10)) == 0);
}

TEST_CASE("proxy: SIGHUP reopens the access log after rotation, losing no line", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  const std::string log = dir.file("access.log"), rotated = dir.file("access.log.1");
  proxy_process proxy(dir, monolith.url(), "access_log: " + log + "\n");
  auto lines_in = [](const std::string& file, const std::string& marker) {
    std::ifstream in(file);
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(marker) != std::string::npos;
    return n;
  };
  for (int i = 0; i < 5; ++i) REQUIRE(http_call(proxy.port, "GET", "/before-" + std::to_string(i)).status == 200);
  REQUIRE(eventually([&] { return lines_in(log, "/before-") == 5; }));
  // logrotate's way: move the file, then tell the proxy.
  std::filesystem::rename(log, rotated);
  proxy.proc->signal(SIGHUP);
  REQUIRE(eventually([&] { return std::filesystem::exists(log); }));
  for (int i = 0; i < 5; ++i) REQUIRE(http_call(proxy.port, "GET", "/after-" + std::to_string(i)).status == 200);
  CHECK(eventually([&] { return lines_in(log, "/after-") == 5; }));
  CHECK(lines_in(log, "/before-") == 0);
  CHECK(lines_in(rotated, "/before-") == 5);
  CHECK(lines_in(rotated, "/after-") == 0);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: SIGHUP without an access log file changes nothing and stops nothing", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  proxy.proc->signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(http_call(proxy.port, "GET", "/still-here").status == 200);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: route changes under continuous load fail no request", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith"), service("service");
  proxy_process proxy(dir, monolith.url());
  std::atomic<bool> go{true};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      try {
        http_connection c(proxy.port);
        while (go) {
          auto r = c.request("GET", "/api/x");
          (r.status == 200 ? ok : failed)++;
        }
      } catch (const std::exception&) {
        failed++;
      }
    });
  for (int i = 0; i < 20; ++i) {
    REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), i % 2 ? "monolith" : "service", 100)).status ==
            200);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  go = false;
  for (auto& c : clients) c.join();
  CHECK(failed == 0);
  CHECK(ok > 100);
  CHECK(service.requests() > 0);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: WebSocket upgrades pass through as a tunnel", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  http_connection c(proxy.port);
  c.send_raw("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  auto head = c.read_reply(true);
  REQUIRE(head);
  CHECK(head->status == 101);
  CHECK(*head->header("Upgrade") == "websocket");
  CHECK(*head->header("Connection") == "upgrade");
  c.send_raw("ping-1");
  CHECK(c.read_exactly(6) == "ping-1");
  c.send_raw(std::string(100000, 'w'));
  CHECK(c.read_exactly(100000) == std::string(100000, 'w'));
  // Without Connection: upgrade nothing is upgraded.
  auto plain = http_call(proxy.port, "GET", "/ws", {}, {{"Upgrade", "websocket"}});
  CHECK(plain.status == 502);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: a service failing its health checks is skipped until it recovers", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith"), service("service");
  proxy_process proxy(dir, monolith.url(), "health_checks: {path: /healthz, interval: 100ms, timeout: 500ms}\n");
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), "service", 100, "/api/**")).status == 200);
  CHECK(http_call(proxy.port, "GET", "/api/a").body == "service /api/a");
  auto wait_for_health = [&](bool expected) {
    for (int i = 0; i < 50; ++i) {
      const auto services = boost::json::parse(proxy.admin("GET", "/api/v1/services").body);
      for (const auto& s : services.at("services").as_array())
        if (s.at("name").as_string() == "svc" && s.at("healthy").as_bool() == expected) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  service.set_healthy(false);
  REQUIRE(wait_for_health(false));
  const int served_before = service.requests();
  CHECK(http_call(proxy.port, "GET", "/api/a").body == "monolith /api/a");  // safe: falls back
  auto write = http_call(proxy.port, "POST", "/api/orders", "{}");
  CHECK(write.status == 503);
  CHECK(write.body.find("service_unhealthy") != std::string::npos);
  CHECK(service.requests() - served_before <= 2);  // only health probes, no traffic
  CHECK(http_call(proxy.admin_port, "GET", "/metrics").body.find("banyan_upstream_healthy{upstream=\"svc\"") !=
        std::string::npos);
  service.set_healthy(true);
  REQUIRE(wait_for_health(true));
  CHECK(http_call(proxy.port, "GET", "/api/a").body == "service /api/a");
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: requests over an upstream's connection cap queue for a pooled connection", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "limits: {max_connections_per_upstream: 2}\ntimeouts: {queue: 10s}\n");
  CHECK(answered_ok(proxy.port, 6, 1, "/slow?ms=300") == 6);
  // The queued requests took the two connections as they came back to the pool: none was opened
  // beyond the cap, and none was closed and reopened.
  CHECK(monolith.connections() == 2);
  CHECK(monolith.peak_slow() == 2);
  const auto services = boost::json::parse(proxy.admin("GET", "/api/v1/services").body);
  const auto& m = services.at("services").as_array().at(0);
  CHECK(m.at("connections").as_int64() == 2);  // idle in the pool now
  CHECK(m.at("queued").as_int64() == 0);
  CHECK(m.at("saturated").as_int64() == 0);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: queued requests get the upstream's connection in the order they came", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "limits: {max_connections_per_upstream: 1}\ntimeouts: {queue: 10s}\n");
  auto queued = [&] {
    const auto services = boost::json::parse(proxy.admin("GET", "/api/v1/services").body);
    return services.at("services").as_array().at(0).at("queued").as_int64();
  };
  std::vector<std::thread> clients;
  // Each request is queued before the next is sent, all while the one connection is busy.
  clients.emplace_back([&] { CHECK(http_call(proxy.port, "GET", "/slow?ms=2000").status == 200); });
  bool in_order = eventually([&] { return monolith.slow_in_flight() == 1; }, std::chrono::seconds(5));
  for (int i = 0; i < 4 && in_order; ++i) {
    clients.emplace_back([&, i] { CHECK(http_call(proxy.port, "GET", "/q" + std::to_string(i)).status == 200); });
    in_order = eventually([&] { return queued() == i + 1; }, std::chrono::seconds(5));
  }
  CHECK(in_order);
  CHECK(monolith.slow_in_flight() == 1);  // still busy: nothing was served out of turn yet
  for (auto& t : clients) t.join();
  CHECK(monolith.paths() == std::vector<std::string>{"/slow", "/q0", "/q1", "/q2", "/q3"});
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: with several threads the cap holds across them and queued requests are served", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "threads: 2\nlimits: {max_connections_per_upstream: 2}\ntimeouts: {queue: 20s}\n");
  CHECK(answered_ok(proxy.port, 8, 3, "/slow?ms=100") == 24);
  CHECK(monolith.peak_slow() == 2);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("proxy: a request finding no connection within the queue timeout gets 503, or the monolith", "[proxy]") {
  temp_dir dir;
  test_upstream monolith("monolith"), service("service");
  proxy_process proxy(dir, monolith.url(),
                      "limits: {max_connections_per_upstream: 1}\ntimeouts: {queue: 200ms}\nhealth_checks: {path: \"\"}\n");
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", routes_json(service.url(), "service", 100, "/api/**")).status == 200);
  // The route's writes moved: the barrier asked the monolith for its feed (it has none) on a
  // connection of its own, not the data plane's.
  const int barrier_probes = monolith.connections();

  // The service's one connection is busy: a safe request waits 200 ms, then goes to the monolith;
  // a write gets 503.
  std::thread hold_service([&] { CHECK(http_call(proxy.port, "GET", "/api/slow?ms=2000").status == 200); });
  REQUIRE(eventually([&] { return service.slow_in_flight() == 1; }, std::chrono::seconds(5)));
  CHECK(http_call(proxy.port, "GET", "/api/products/1").body == "monolith /api/products/1");
  const auto write = http_call(proxy.port, "POST", "/api/orders", "{}");
  CHECK(write.status == 503);
  CHECK(write.body.find("upstream_saturated") != std::string::npos);
  hold_service.join();
  CHECK(http_call(proxy.port, "GET", "/api/products/1").body == "service /api/products/1");

  // The monolith's one connection is busy: another request waits 200 ms, then gets 503.
  std::thread hold_monolith([&] { CHECK(http_call(proxy.port, "GET", "/slow?ms=2000").status == 200); });
  REQUIRE(eventually([&] { return monolith.slow_in_flight() == 1; }, std::chrono::seconds(5)));
  const auto refused = http_call(proxy.port, "GET", "/other");
  CHECK(refused.status == 503);
  CHECK(boost::json::parse(refused.body).at("error").at("code").as_string() == "upstream_saturated");
  hold_monolith.join();

  // Waiting for a connection is not the service's failure: its circuit stays closed.
  const auto services = boost::json::parse(proxy.admin("GET", "/api/v1/services").body);
  for (const auto& s : services.at("services").as_array()) {
    CHECK(s.at("circuit").as_string() == "closed");
    CHECK(s.at("failures").as_int64() == 0);
    CHECK(s.at("saturated").as_int64() == (s.at("name").as_string() == "monolith" ? 1 : 2));
    CHECK(s.at("connections").as_int64() == 1);
  }
  CHECK(http_call(proxy.admin_port, "GET", "/metrics").body.find("banyan_upstream_saturated_total{upstream=\"svc\"") !=
        std::string::npos);
  CHECK(monolith.connections() == barrier_probes + 1);
  CHECK(service.connections() == 1);
  CHECK(proxy.stop() == 0);
}
