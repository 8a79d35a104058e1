// Shadow traffic as users run it: legacy-shop as the monolith, a deliberately divergent copy of it
// as the extracted service, banyan-proxy in front, and the report read back from the admin API.
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/sqlite.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/sqlite_checks.hpp"
#include "support/temp_dir.hpp"
#include "support/test_upstream.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace banyan::test;
namespace json = boost::json;

namespace {

json::value report(proxy_process& proxy, const std::string& query = "") {
  auto r = proxy.admin("GET", "/api/v1/shadow/report" + query);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

bool has_route(const json::value& report, const std::string& id) {
  for (const auto& r : report.at("routes").as_array())
    if (r.at("route").as_string() == id) return true;
  return false;
}

const json::object& route_in(const json::value& report, const std::string& id) {
  for (const auto& r : report.at("routes").as_array())
    if (r.at("route").as_string() == id) return r.as_object();
  FAIL("no route " << id << " in " << json::serialize(report));
  throw 0;
}

// A listener that accepts connections and never answers: the slowest service there is.
struct silent_service {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::uint16_t port = 0;
  silent_service() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd, 128);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~silent_service() { ::close(fd); }
};

}  // namespace

TEST_CASE("shadow: the report names exactly the differing paths and learns legacy-shop's noise", "[shadow]") {
  temp_dir dir;
  shop_twins shop(dir);
  // The service diverges on one product's price (its update also moves updated_at).
  const auto price =
      json::parse(http_call(shop.service.port, "GET", "/api/products/7").body).at("price_cents").as_int64();
  shop.change_on_service(7, "price_cents", std::to_string(price + 1));

  proxy_process proxy(dir, shop.monolith.url(),
                      "services: {catalog: " + shop.service.url() + "}\n"
                      "routes:\n"
                      "  - id: product-detail\n"
                      "    match: {methods: [GET, HEAD, PUT, DELETE], path: \"/api/products/{id}\"}\n"
                      "    service: catalog\n"
                      "    mode: shadow\n"
                      "  - id: product-list\n"
                      "    match: {methods: [GET], path: /api/products}\n"
                      "    service: catalog\n"
                      "    mode: shadow\n"
                      "    shadow: {max_compare_bytes: 4KiB}\n");
  int asked_for_7 = 0;
  for (int i = 0; i < 60; ++i) {
    const int id = i % 12 + 1;
    asked_for_7 += id == 7;
    auto r = http_call(proxy.port, "GET", "/api/products/" + std::to_string(id));
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body).at("price_cents").as_int64() != price + 1);  // the monolith answered
  }
  for (int i = 0; i < 3; ++i)  // writes are not copied by default: skipped, counted
    CHECK(http_call(proxy.port, "DELETE", "/api/products/99999").status == 404);
  for (int i = 0; i < 4; ++i)  // a page of 100 products is over the 4 KiB compare limit
    CHECK(http_call(proxy.port, "GET", "/api/products?page_size=100").status == 200);
  CHECK(http_call(proxy.port, "GET", "/api/products?page_size=1").status == 200);

  // Results arrive asynchronously; the report flushes what the recorder has, the mirror may lag.
  json::value rep;
  eventually([&] {
    rep = report(proxy);
    if (!has_route(rep, "product-detail") || !has_route(rep, "product-list")) return false;
    const auto& d = route_in(rep, "product-detail");
    const auto& l = route_in(rep, "product-list");  // its copies come last (under ASan, seconds later)
    return d.at("counts").at("compared").to_number<std::int64_t>() == 60 &&
           d.at("counts").at("skipped_writes").as_int64() == 3 &&
           l.at("counts").at("too_large").to_number<std::int64_t>() == 4 &&
           l.at("counts").at("compared").to_number<std::int64_t>() == 1;
  });
  const auto& d = route_in(rep, "product-detail");
  INFO(json::serialize(d));
  CHECK(d.at("counts").at("compared").to_number<std::int64_t>() == 60);
  CHECK(d.at("counts").at("skipped_writes").as_int64() == 3);
  const auto& paths = d.at("paths").as_array();
  REQUIRE(paths.size() == 2);
  std::set<std::string> named;
  for (const auto& p : paths) {
    named.insert(std::string(p.at("path").as_string()));
    CHECK(p.at("count").to_number<std::int64_t>() == std::int64_t{asked_for_7});
    const auto& sample = p.at("samples").at(0);
    CHECK(sample.at("target").as_string() == "/api/products/7");
    CHECK(!sample.at("request_id").as_string().empty());
  }
  CHECK(named == std::set<std::string>{"$.price_cents", "$.updated_at"});
  const auto& price_sample = paths[0].at("path").as_string() == "$.price_cents" ? paths[0] : paths[1];
  CHECK(price_sample.at("samples").at(0).at("monolith").as_string() == std::to_string(price));
  CHECK(price_sample.at("samples").at(0).at("service").as_string() == std::to_string(price + 1));
  // generated_at differs on every call, even between two monolith answers: learned noise, with
  // its evidence. (request_id never differs: the copy keeps the original's X-Request-Id.)
  bool generated_at_is_noise = false;
  for (const auto& n : d.at("noise").as_array())
    if (n.at("path").as_string() == "$.generated_at") {
      generated_at_is_noise = true;
      CHECK(n.at("seen").as_int64() > 0);
      CHECK(n.at("example").as_array().size() == 2);
    }
  CHECK(generated_at_is_noise);
  // Parity: everything but product 7 matched.
  CHECK(d.at("parity").at("matched").to_number<std::int64_t>() == 60 - asked_for_7);
  CHECK(d.at("status").at("2xx").at("2xx").to_number<std::int64_t>() == 60);
  CHECK(d.at("latency_ms").at("service").at("count").to_number<std::int64_t>() == 60);

  const auto& list = route_in(rep, "product-list");
  CHECK(list.at("counts").at("too_large").to_number<std::int64_t>() == 4);
  CHECK(list.at("counts").at("compared").to_number<std::int64_t>() == 1);

  // A route filter, and the metrics.
  CHECK(report(proxy, "?route=product-list").at("routes").as_array().size() == 1);
  const auto metrics = http_call(proxy.admin_port, "GET", "/metrics").body;
  CHECK(metrics.find("banyan_shadow_copies_total{route=\"product-detail\",outcome=\"skipped_write\"} 3") !=
        std::string::npos);
  CHECK(metrics.find("banyan_shadow_store_writable 1") != std::string::npos);
  CHECK(proxy.stop() == 0);

  // Results persist: a restarted proxy reports the same.
  proxy.start();
  CHECK(route_in(report(proxy), "product-detail").at("counts").at("compared").to_number<std::int64_t>() == 60);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("shadow: a copy never slows the client, even when the service never answers", "[shadow]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  silent_service service;
  proxy_process proxy(dir, monolith.url(),
                      "services: {svc: http://127.0.0.1:" + std::to_string(service.port) + "}\n"
                      "routes:\n"
                      "  - {id: x, match: {path: /api/x}, service: svc, mode: shadow}\n");
  // Each copy waits for the service until the mirror's timeout (10 s); the clients do not.
  const auto started = std::chrono::steady_clock::now();
  http_connection c(proxy.port);
  for (int i = 0; i < 50; ++i) {
    auto r = c.request("GET", "/api/x");
    REQUIRE(r.status == 200);
    CHECK(r.body == "monolith /api/x");
  }
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took < std::chrono::seconds(5));  // 50 answers while not one copy has been answered
  CHECK(monolith.requests() >= 50);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("shadow: copies are marked, writes go only as dry runs, sampling limits copies", "[shadow]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  test_upstream service("service");
  proxy_process proxy(dir, monolith.url(),
                      "services: {svc: " + service.url() + "}\n"
                      "routes:\n"
                      "  - {id: echo, match: {path: /echo}, service: svc, mode: shadow, writes: dry-run}\n"
                      "  - {id: half, match: {path: /half}, service: svc, mode: shadow,\n"
                      "     shadow: {sample: 50%, consistent: true}, canary_key: {header: X-User}}\n");
  CHECK(http_call(proxy.port, "GET", "/echo", {}, {{"X-Request-Id", "copy-me-1"}}).status == 200);
  CHECK(http_call(proxy.port, "POST", "/echo", "{}", {{"X-Request-Id", "copy-me-2"}}).status == 200);
  // The copies' heads, as the service saw them, are in the report's samples (its /echo answers
  // differ from the monolith's by exactly those heads).
  json::value rep;
  eventually([&] {
    rep = report(proxy, "?route=echo");
    return !rep.at("routes").as_array().empty() &&
           route_in(rep, "echo").at("counts").at("compared").to_number<std::int64_t>() == 2;
  });
  const auto& echo = route_in(rep, "echo");
  REQUIRE(echo.at("paths").as_array().size() == 1);
  std::string seen;
  for (const auto& s : echo.at("paths").at(0).at("samples").as_array()) seen += s.at("service_response").as_string();
  CHECK(seen.find("X-Banyan-Shadow: 1\r\n") != std::string::npos);
  CHECK(seen.find("X-Banyan-Shadow: dry-run\r\n") != std::string::npos);
  CHECK(seen.find("X-Request-Id: copy-me-1\r\n") != std::string::npos);
  CHECK(seen.find("X-Request-Id: copy-me-2\r\n") != std::string::npos);

  // Consistent sampling: a user is always copied or never.
  const int before = service.requests();
  for (int round = 0; round < 3; ++round)
    for (int user = 0; user < 40; ++user)
      CHECK(http_call(proxy.port, "GET", "/half", {}, {{"X-User", "user-" + std::to_string(user)}}).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int copies = service.requests() - before;
  CHECK(copies % 3 == 0);  // each sampled user three times
  CHECK(copies > 0);
  CHECK(copies < 120);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("shadow: a service route's reverse shadow compares the monolith with the service that answered", "[shadow]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  test_upstream service("service");
  proxy_process proxy(dir, monolith.url(),
                      "services: {svc: " + service.url() + "}\n"
                      "routes:\n"
                      "  - {id: x, match: {path: /api/x}, service: svc, mode: service, shadow: {reverse: true},\n"
                      "     writes: dry-run}\n");
  for (int i = 0; i < 5; ++i) {
    auto r = http_call(proxy.port, "GET", "/api/x");
    REQUIRE(r.status == 200);
    CHECK(r.body == "service /api/x");  // the service answers the client
  }
  // A write is never copied to the monolith, not even as a dry run: it would commit there.
  CHECK(http_call(proxy.port, "POST", "/api/x", "{}").status == 200);
  json::value rep;
  eventually([&] {
    rep = report(proxy, "?route=x");
    return !rep.at("routes").as_array().empty() &&
           route_in(rep, "x").at("counts").at("compared").to_number<int>() == 5 &&
           route_in(rep, "x").at("counts").at("skipped_writes").to_number<int>() == 1;
  });
  const auto& x = route_in(rep, "x");
  INFO(json::serialize(x));
  CHECK(x.at("counts").at("compared").to_number<int>() == 5);
  CHECK(x.at("counts").at("skipped_writes").to_number<int>() == 1);
  REQUIRE(x.at("paths").as_array().size() == 1);
  const auto& body = x.at("paths").at(0);
  CHECK(body.at("path").as_string() == "body");
  CHECK(body.at("kinds").at(0).as_string() == "bytes_differ");
  const auto& sample = body.at("samples").at(0);
  CHECK(std::string(sample.at("monolith_response").as_string()).find("monolith /api/x") != std::string::npos);
  CHECK(std::string(sample.at("service_response").as_string()).find("service /api/x") != std::string::npos);
  CHECK(proxy.stop() == 0);
}

TEST_CASE("shadow: kill -9 under heavy recording leaves the store whole and every reported result in it",
          "[shadow][faults]") {
  temp_dir dir;
  shop_twins shop(dir);
  shop.change_on_service(3, "name", "\"Renamed on the service\"");  // samples and paths get written too
  proxy_process proxy(dir, shop.monolith.url(),
                      shadowed_product_detail(shop.service.url()));
  auto compared_in_report = [&] {
    const auto rep = report(proxy);
    if (!has_route(rep, "product-detail")) return std::int64_t{0};
    return route_in(rep, "product-detail").at("counts").at("compared").to_number<std::int64_t>();
  };
  auto compared_in_store = [&] {
    banyan::sqlite::connection db(dir.file("state/banyan.db"));
    CHECK(integrity_of(db) == "ok");
    auto sum = db.prepare(
        "SELECT COALESCE(SUM(count), 0) FROM shadow_results WHERE route = 'product-detail' AND outcome = 'compared'");
    REQUIRE(sum.step());
    return sum.get_int64(0);
  };
  auto audit_entries = [&] {
    banyan::sqlite::connection db(dir.file("state/banyan.db"));
    auto n = db.prepare("SELECT COUNT(*) FROM proxy_audit");
    REQUIRE(n.step());
    return n.get_int64(0);
  };

  // Four clients as fast as they go, each copy compared and recorded; they follow the proxy to
  // its new port only once a round's checks are done.
  std::atomic<std::uint16_t> port{proxy.port};
  std::atomic<bool> stop{false};
  std::atomic<long> served{0};
  struct joined_on_exit {  // a failed REQUIRE must not leave them running
    std::atomic<bool>& stop;
    std::vector<std::thread> threads;
    ~joined_on_exit() {
      stop = true;
      for (auto& t : threads) t.join();
    }
  } clients{stop, {}};
  for (int c = 0; c < 4; ++c)
    clients.threads.emplace_back([&, c] {
      banyan::http::client_options o;
      o.timeout = std::chrono::milliseconds(2000);
      std::uint16_t at = 0;
      std::unique_ptr<banyan::http::client> client;
      for (int i = c; !stop; ++i) {
        if (port != at) {
          at = port;
          client = std::make_unique<banyan::http::client>("http://127.0.0.1:" + std::to_string(at), o);
        }
        const auto r = client->send("GET", "/api/products/" + std::to_string(i % 12 + 1), {});
        if (r && r->status == 200) ++served;
        else std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the proxy is down
      }
    });

  const auto audit_before = audit_entries();
  std::int64_t reported = 0;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    // Recording is busy: results arrive on top of what was reported last.
    const auto floor = reported;
    CHECK(eventually([&] { return (reported = compared_in_report()) > floor + 1000; }, std::chrono::seconds(30)));
    std::this_thread::sleep_for(std::chrono::milliseconds(70 + 110 * round));  // mid-flush, at some point
    proxy.proc->signal(SIGKILL);
    proxy.proc->wait(std::chrono::seconds(5));
    // What the report showed was saved: it is all there, in a database that is whole.
    const auto stored = compared_in_store();
    CHECK(stored >= reported);
    CHECK(audit_entries() == audit_before);
    proxy.start();
    CHECK(compared_in_report() == stored);
    reported = stored;
    port = proxy.port;
  }
  stop = true;
  for (auto& t : clients.threads) t.join();
  clients.threads.clear();
  CHECK(served > 3000);
  // The divergence recorded before the crashes is still reported, with its samples.
  const auto last = report(proxy);
  const auto& d = route_in(last, "product-detail");
  INFO(json::serialize(d));
  bool named = false;
  for (const auto& p : d.at("paths").as_array())
    if (p.at("path").as_string() == "$.name") named = !p.at("samples").as_array().empty();
  CHECK(named);
  CHECK(proxy.stop() == 0);
  CHECK(compared_in_store() >= reported);
}
