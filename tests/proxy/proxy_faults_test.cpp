// banyan-proxy under the faults real networks bring (issue 10), counted in what it holds: after
// each kind of misbehaviour, repeated, the proxy's open file descriptors come back to where they
// were, its memory stays bounded, and it still serves the next request.
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/sqlite.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/sqlite_checks.hpp"
#include "support/temp_dir.hpp"
#include "support/test_upstream.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>
#include <csignal>

#include <fstream>
#include <memory>
#include <thread>
#include <vector>

using namespace banyan::test;

namespace {

// A raw client socket connected to the proxy (closed when it goes).
struct raw_client {
  int fd = -1;
  explicit raw_client(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~raw_client() { ::close(fd); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  void send(std::string_view s) { (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }
  // Whether the proxy closed the connection (after what it had to say) within `ms`.
  bool closed_within(int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
};

// The proxy's fds back at (or below) `baseline` plus a little slack for pooled upstream
// connections, within a few seconds.
bool fds_back(const proxy_process& p, int baseline, int slack = 4) {
  return eventually([&] { return p.open_fds() <= baseline + slack; }, std::chrono::seconds(5));
}

// A keep-alive admin client with the proxy's token, for a thread changing routing as fast as the
// proxy takes it; its sends fail (rather than throw) once the proxy is gone.
struct fast_admin {
  banyan::http::client client;
  banyan::http::header_list headers;
  explicit fast_admin(const proxy_process& p)
      : client("http://127.0.0.1:" + std::to_string(p.admin_port), options()) {
    headers.add("Authorization", "Bearer " + p.token);
    headers.add("Content-Type", "application/json");
  }
  static banyan::http::client_options options() {
    banyan::http::client_options o;
    o.timeout = std::chrono::milliseconds(1000);
    return o;
  }
  auto send(std::string_view method, std::string_view target, std::string_view body = {}) {
    return client.send(method, target, headers, body);
  }
};

}  // namespace

TEST_CASE("faults: upstreams that refuse, reset, hang, garble or stop mid-body leak nothing", "[proxy][faults]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "timeouts: {upstream: 200ms, connect: 300ms}\n");
  REQUIRE(http_call(proxy.port, "GET", "/fine").status == 200);
  const int baseline = proxy.open_fds();
  const long rss_before = proxy.rss_kb();
  for (int round = 0; round < 40; ++round) {
    CHECK(http_call(proxy.port, "GET", "/reset").status == 502);
    CHECK(http_call(proxy.port, "GET", "/garbage").status == 502);
    CHECK(http_call(proxy.port, "GET", "/slow?ms=600").status == 504);
    http_connection c(proxy.port, std::chrono::seconds(3));
    c.send_raw("GET /reset-mid HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_FALSE(c.read_reply());  // the head came, then the connection ended early
  }
  CHECK(http_call(proxy.port, "GET", "/fine").status == 200);
  INFO("fds at start " << baseline << ", now " << proxy.open_fds());
  CHECK(fds_back(proxy, baseline));
  CHECK(proxy.rss_kb() < rss_before + 8 * 1024);

  // Nothing listening at all: every request answered, no socket kept.
  temp_dir dir2;
  int closed;
  {
    test_upstream gone("gone");
    closed = gone.port();
  }
  proxy_process down(dir2, "http://127.0.0.1:" + std::to_string(closed));
  const int down_baseline = down.open_fds();
  for (int i = 0; i < 100; ++i) CHECK(http_call(down.port, "GET", "/x").status == 502);
  CHECK(fds_back(down, down_baseline));
}

TEST_CASE("faults: slow heads (slowloris) are cut at the header timeout and leave nothing", "[proxy][faults]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "timeouts: {header: 500ms}\n");
  REQUIRE(http_call(proxy.port, "GET", "/fine").status == 200);
  const int baseline = proxy.open_fds();
  std::vector<std::unique_ptr<raw_client>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<raw_client>(proxy.port));
    slow.back()->send("GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: ");  // and never the rest
  }
  // Meanwhile others are served.
  CHECK(http_call(proxy.port, "GET", "/fine").status == 200);
  int cut = 0;
  for (auto& c : slow) cut += c->closed_within(3000);
  CHECK(cut == 50);
  CHECK(monolith.requests() == 2);  // none of the slow heads reached the upstream
  slow.clear();
  CHECK(fds_back(proxy, baseline));
}

TEST_CASE("faults: many idle keep-alive connections cost little and are all served", "[proxy][faults]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url());
  REQUIRE(http_call(proxy.port, "GET", "/fine").status == 200);
  const int baseline = proxy.open_fds();
  const long rss_before = proxy.rss_kb();
  std::vector<std::unique_ptr<http_connection>> idle;
  for (int i = 0; i < 400; ++i) {
    idle.push_back(std::make_unique<http_connection>(proxy.port));
    REQUIRE(idle.back()->request("GET", "/fine").status == 200);  // each used once, then left idle
  }
  CHECK(proxy.open_fds() >= baseline + 400 - 4);  // one socket each (a few of the baseline are transient)
  // An idle connection holds no pooled buffers: 400 of them well under 16 KiB each.
  CHECK(proxy.rss_kb() < rss_before + 400 * 16);
  for (auto& c : idle) CHECK(c->request("GET", "/again").status == 200);  // all still usable
  idle.clear();
  CHECK(fds_back(proxy, baseline));
}

TEST_CASE("faults: a client that never reads is dropped at the body timeout, without buffering the answer",
          "[proxy][faults]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  proxy_process proxy(dir, monolith.url(), "timeouts: {body: 1s}\n");
  REQUIRE(http_call(proxy.port, "GET", "/fine").status == 200);
  const int baseline = proxy.open_fds();
  const long rss_before = proxy.rss_kb();
  {
    raw_client c(proxy.port);
    int small = 4096;  // a small receive window, so the proxy's writes block soon
    ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    c.send("GET /big?bytes=104857600 HTTP/1.1\r\nHost: a\r\n\r\n");  // 100 MiB, never read
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    // The proxy streams, it does not buffer: far less than the answer in memory.
    CHECK(proxy.rss_kb() < rss_before + 16 * 1024);
    // And it gave up on this client by itself: its socket and the upstream's are closed while
    // the client is still connected (slack 1: not both of them).
    INFO("fds at start " << baseline << ", now " << proxy.open_fds());
    CHECK(fds_back(proxy, baseline, 1));
  }
  CHECK(http_call(proxy.port, "GET", "/fine").status == 200);
  CHECK(fds_back(proxy, baseline));
}

TEST_CASE("faults: kill -9 in the middle of routing changes leaves one whole state and its audit", "[proxy][faults]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  int acknowledged_total = 0;
  for (int round = 0; round < 4; ++round) {
    proxy_process proxy(dir, monolith.url());
    // Another operator changing the routing as fast as the proxy takes it.
    std::atomic<int> acknowledged{0};
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      fast_admin admin(proxy);
      for (int i = 0; !stop; ++i) {
        const std::string body =
            R"({"reason":"change )" + std::to_string(i) +
            R"(","services":{"svc":"http://127.0.0.1:1"},"routes":[{"id":"x","match":{"path":"/p)" + std::to_string(i) +
            R"("},"service":"svc","mode":"shadow"}]})";
        const auto r = admin.send("PUT", "/api/v1/routes", body);
        if (!r) break;  // the proxy is gone
        if (r->status == 200) ++acknowledged;
      }
    });
    // Killed at a different moment each round, once changes are flowing (a slow machine may take
    // a while for the first).
    CHECK(eventually([&] { return acknowledged > 0; }, std::chrono::seconds(10)));  // CHECK: the writer must be joined
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + 100 * round));
    proxy.proc->signal(SIGKILL);
    proxy.proc->wait(std::chrono::seconds(5));
    stop = true;
    writer.join();
    acknowledged_total += acknowledged;
    INFO("round " << round << ": " << acknowledged << " changes acknowledged before the kill");
    CHECK(acknowledged > 0);
    {
      banyan::sqlite::connection db(dir.file("state/banyan.db"));
      CHECK(integrity_of(db) == "ok");
      // Every acknowledged change was saved with its audit entry; at most the one in flight more.
      auto count = db.prepare("SELECT COUNT(*) FROM proxy_audit WHERE action = 'routes.replace'");
      REQUIRE(count.step());
      CHECK(count.get_int64(0) >= acknowledged_total);
      CHECK(count.get_int64(0) <= acknowledged_total + 1);
      acknowledged_total = static_cast<int>(count.get_int64(0));  // the in-flight one, if it landed, counts
    }
  }
  // After the last kill the proxy starts on the last saved routing: the one its last audit entry
  // recorded.
  std::string last_reason;
  {
    banyan::sqlite::connection db(dir.file("state/banyan.db"));
    auto st = db.prepare("SELECT reason FROM proxy_audit ORDER BY id DESC LIMIT 1");
    REQUIRE(st.step());
    last_reason = st.get_text(0);
  }
  proxy_process proxy(dir, monolith.url());
  const auto routes = proxy.admin("GET", "/api/v1/routes");
  REQUIRE(routes.status == 200);
  const auto n = last_reason.substr(last_reason.rfind(' ') + 1);
  INFO(last_reason << " / " << routes.body);
  CHECK(routes.body.find("\"path\":\"/p" + n + "\"") != std::string::npos);
}

TEST_CASE("faults: kill -9 in the middle of plan steps restarts on one whole stage: its routing, its audit",
          "[proxy][faults]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  // Two stages of one plan, told apart by the route's path: /stage-a/** or /stage-b/**.
  auto step_body = [](const std::string& stage, const std::string& from, int i) {
    return R"({"name":"two-step","document":"name: two-step\n","stage":")" + stage + R"(","from_stage":")" + from +
           R"(","action":")" + (stage == "b" ? "advance" : "rollback") + R"(","reason":"step )" + std::to_string(i) +
           R"(","services":{"svc":"http://127.0.0.1:1"},"routes":[{"id":"x","match":{"path":"/stage-)" + stage +
           R"(/**"},"service":"svc","mode":"shadow"}]})";
  };
  {
    proxy_process first(dir, monolith.url());
    const auto applied = first.admin(
        "PUT", "/api/v1/plan",
        R"({"name":"two-step","document":"name: two-step\n","stage":"a","reason":"apply","services":{"svc":"http://127.0.0.1:1"},"routes":[{"id":"x","match":{"path":"/stage-a/**"},"service":"svc","mode":"shadow"}]})");
    REQUIRE(applied.status == 200);
    CHECK(first.stop() == 0);
  }
  for (int round = 0; round < 4; ++round) {
    proxy_process proxy(dir, monolith.url());
    std::atomic<int> acknowledged{0};
    std::atomic<bool> stop{false};
    std::thread stepper([&] {  // advance and roll back as fast as the proxy takes it
      fast_admin admin(proxy);
      std::string at;
      {
        const auto plan = admin.send("GET", "/api/v1/plan");
        if (!plan || plan->status != 200) return;
        at = std::string(boost::json::parse(plan->body).at("stage").as_string());
      }
      for (int i = 0; !stop; ++i) {
        const std::string next = at == "a" ? "b" : "a";
        const auto r = admin.send("PUT", "/api/v1/plan", step_body(next, at, i));
        if (!r) break;  // the proxy is gone
        if (r->status != 200) break;
        at = next;
        ++acknowledged;
      }
    });
    CHECK(eventually([&] { return acknowledged > 0; }, std::chrono::seconds(10)));
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + 70 * round));
    proxy.proc->signal(SIGKILL);
    proxy.proc->wait(std::chrono::seconds(5));
    stop = true;
    stepper.join();
    INFO("round " << round << ": " << acknowledged << " steps acknowledged before the kill");
    CHECK(acknowledged > 0);
    std::string stage_saved, routes_saved, last_action;
    {
      banyan::sqlite::connection db(dir.file("state/banyan.db"));
      CHECK(integrity_of(db) == "ok");
      auto plan = db.prepare("SELECT stage FROM proxy_plan WHERE id = 1");
      REQUIRE(plan.step());
      stage_saved = plan.get_text(0);
      auto routing = db.prepare("SELECT routes FROM proxy_routing WHERE id = 1");
      REQUIRE(routing.step());
      routes_saved = routing.get_text(0);
      auto audit = db.prepare("SELECT target FROM proxy_audit ORDER BY id DESC LIMIT 1");
      REQUIRE(audit.step());
      last_action = audit.get_text(0);
    }
    // The stage, its routing and the last audit entry are one step: never a stage with the
    // other's routing.
    CHECK(routes_saved.find("/stage-" + stage_saved + "/**") != std::string::npos);
    CHECK(last_action == "two-step@" + stage_saved);
  }
  proxy_process proxy(dir, monolith.url());
  const auto plan = boost::json::parse(proxy.admin("GET", "/api/v1/plan").body);
  const std::string stage(plan.at("stage").as_string());
  const auto routes = proxy.admin("GET", "/api/v1/routes");
  INFO(routes.body);
  CHECK(routes.body.find("\"path\":\"/stage-" + stage + "/**\"") != std::string::npos);
}
