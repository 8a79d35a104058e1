// The one blocking HTTP client (CLI, feed follower, health checks, data verify), against real
// loopback servers: a scripted one for the failure shapes (silent, garbage, a kept connection the
// server closed) and the platform's own server for the ordinary exchanges.
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/http_server.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <future>
#include <string>
#include <thread>

using namespace banyan;

namespace {

// Accepts connections on 127.0.0.1:0 and runs `script` on each (its own fd), one at a time.
class scripted_server {
 public:
  explicit scripted_server(std::function<void(int fd)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ++accepted_;
        script_(c);
        ::close(c);
      }
    });
  }
  ~scripted_server() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_; }

 private:
  std::function<void(int)> script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Reads until a request head has arrived (these tests send no bodies to the scripted server).
bool read_head(int fd) {
  std::string in;
  char buf[4096];
  while (in.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}
void send_all(int fd, std::string_view s) { (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

constexpr std::string_view ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

http::client_options quick() {
  http::client_options o;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.timeout = std::chrono::milliseconds(400);
  return o;
}

}  // namespace

TEST_CASE("http_client: URLs are http://host[:port][/path] and nothing else", "[client]") {
  http::http_url u;
  std::string why;
  REQUIRE(http::parse_http_url("http://127.0.0.1:8082/base/", u, why));
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == 8082);
  CHECK(u.base_path == "/base");
  CHECK(u.origin() == "http://127.0.0.1:8082");
  REQUIRE(http::parse_http_url("http://shop", u, why));
  CHECK(u.port == 80);
  CHECK(u.base_path.empty());
  CHECK_FALSE(http::parse_http_url("https://shop", u, why));
  CHECK_FALSE(http::parse_http_url("http://shop/x?y=1", u, why));
  CHECK_FALSE(http::parse_http_url("http://user@shop", u, why));
  CHECK_THROWS_AS(http::client("ftp://x"), std::invalid_argument);
}

TEST_CASE("http_client: requests and answers of any status, on one kept connection", "[client]") {
  http::server_options o;
  o.port = 0;
  o.threads = 1;
  o.handle_signals = false;
  o.access_log = false;
  http::server srv(o, [](http::request& req) {
    http::response res;
    if (req.path == "/api/missing") return http::error_response(404, "not_found", "nothing here");
    const std::string* test = req.headers.find("X-Test");
    res.body = req.method + " " + req.path + " " + req.body + " " + (test ? *test : std::string());
    return res;
  });
  auto done = std::async(std::launch::async, [&] { srv.run(); });
  {
    http::client c("http://127.0.0.1:" + std::to_string(srv.port()) + "/api", quick());
    http::header_list h;
    h.add("X-Test", "1");
    const auto a = c.get("/products", h);
    REQUIRE(a);
    CHECK(a->status == 200);
    CHECK(a->body == "GET /api/products  1");
    const auto b = c.send("POST", "/products", {}, "{\"sku\":\"A\"}");
    REQUIRE(b);
    CHECK(b->body == "POST /api/products {\"sku\":\"A\"} ");
    const auto missing = c.get("/missing");
    REQUIRE(missing);  // a status is an answer, not an error
    CHECK(missing->status == 404);
  }
  srv.stop();
  done.wait();
}

TEST_CASE("http_client: a kept connection the server closed is retried once for a GET, never for a POST",
          "[client]") {
  // Each connection answers one request with keep-alive, then the server closes it.
  scripted_server s([](int fd) {
    if (read_head(fd)) send_all(fd, ok);
  });
  http::client c(s.url(), quick());
  REQUIRE(c.get("/a"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the close arrives
  const auto again = c.get("/b");
  REQUIRE(again);
  CHECK(again->body == "ok");
  CHECK(s.accepted() == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto post = c.send("POST", "/c", {}, "x");
  CHECK_FALSE(post);  // it may have been applied: not sent twice
  CHECK(s.accepted() == 2);
}

TEST_CASE("http_client: a server that never answers is a timeout, within the deadline", "[client]") {
  scripted_server s([](int fd) {
    read_head(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  http::client c(s.url(), quick());
  const auto started = std::chrono::steady_clock::now();
  const auto r = c.get("/");
  REQUIRE_FALSE(r);
  CHECK(r.error().what == http::client_error::kind::timeout);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1200));
}

TEST_CASE("http_client: nothing listening is unreachable, garbage is a protocol error", "[client]") {
  std::uint16_t closed_port = 0;
  {
    scripted_server gone([](int) {});
    closed_port = static_cast<std::uint16_t>(std::stoi(gone.url().substr(gone.url().rfind(':') + 1)));
  }
  http::client nobody("http://127.0.0.1:" + std::to_string(closed_port), quick());
  const auto r = nobody.get("/");
  REQUIRE_FALSE(r);
  CHECK(r.error().what == http::client_error::kind::unreachable);

  scripted_server garbage([](int fd) {
    if (read_head(fd)) send_all(fd, "SMTP ready\r\n\r\n");
  });
  http::client c(garbage.url(), quick());
  const auto g = c.get("/");
  REQUIRE_FALSE(g);
  CHECK(g.error().what == http::client_error::kind::protocol);
  CHECK_FALSE(g.error().message.empty());
}
