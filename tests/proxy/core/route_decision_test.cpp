// The route decision as Envoy's router tests do it: a route table in, a decision out — every mode,
// each canary key source, and every shadow choice.
#include "banyan/proxy/route_decision.hpp"

#include "banyan/proxy/bucket.hpp"
#include "support/routes.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <string>

using namespace banyan::proxy;
using banyan::test::catalog_route;
using banyan::test::table_of;

namespace {

// A parsed request head over `raw` (kept alive by the caller).
http1::request_head head_of(const std::string& raw) {
  http1::request_head h;
  http1::error err;
  REQUIRE(http1::parse_request(raw, h, err) == http1::parse_state::complete);
  return h;
}

std::string get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: shop\r\n" + std::string(extra) + "\r\n";
}

// Decides requests as the data plane does. A decision's key is a view into the request's bytes,
// as in the data plane, so the decider keeps every request it was given (found by ASan).
struct decider {
  std::shared_ptr<const route_table> table;
  bool mirror = true;
  std::uint64_t rng = 0x9e3779b97f4a7c15ULL;
  std::deque<std::string> requests{};
  std::deque<std::string> clients{};
  route_decision operator()(std::string raw, std::string client_address = "10.0.0.1") {
    const std::string& kept = requests.emplace_back(std::move(raw));
    const std::string_view client = clients.emplace_back(std::move(client_address));
    const auto h = head_of(kept);
    decision_inputs in;
    in.table = table.get();
    in.method = h.method;
    in.path = h.target.substr(0, h.target.find('?'));
    in.client_address = client;
    in.mirror = mirror;
    in.sample_state = &rng;
    return decide_route(in, h);
  }
};

}  // namespace

TEST_CASE("decision: no table or no matching route goes to the monolith") {
  decider d{nullptr};
  auto none = d(get("/api/products"));
  CHECK(none.matched == nullptr);
  CHECK_FALSE(none.to_service);
  CHECK(none.shadow == shadow_choice::none);

  d.table = table_of({catalog_route("reads", "/api/products/**", route_mode::service, {"GET"})});
  auto other = d(get("/api/orders"));
  CHECK(other.matched == nullptr);
  CHECK_FALSE(other.to_service);
  auto post = d("POST /api/products HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\n\r\n");
  CHECK(post.matched == nullptr);  // the route takes GET only
}

TEST_CASE("decision: each mode says where the request goes") {
  decider d{table_of({catalog_route("m", "/m", route_mode::monolith), catalog_route("sh", "/sh", route_mode::shadow),
                      catalog_route("sv", "/sv", route_mode::service)})};
  const auto m = d(get("/m"));
  CHECK(m.matched->id == "m");
  CHECK(m.mode == route_mode::monolith);
  CHECK_FALSE(m.to_service);
  CHECK(m.shadow == shadow_choice::none);

  const auto sh = d(get("/sh"));
  CHECK(sh.mode == route_mode::shadow);
  CHECK_FALSE(sh.to_service);  // the monolith answers; the service gets the copy
  CHECK(sh.shadow == shadow_choice::copy);
  CHECK(sh.shadow_primary_monolith);

  const auto sv = d(get("/sv"));
  CHECK(sv.mode == route_mode::service);
  CHECK(sv.to_service);
  CHECK(sv.index == 2);
  CHECK(sv.shadow == shadow_choice::none);  // no reverse shadow configured
}

TEST_CASE("decision: the method's class travels with the decision") {
  decider d{table_of({catalog_route("all", "/x", route_mode::service)})};
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    const auto r = d(std::string(m) + " /x HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.safe);
    CHECK(r.idempotent);
  }
  for (const char* m : {"PUT", "DELETE"}) {
    const auto r = d(std::string(m) + " /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(r.safe);
    CHECK(r.idempotent);
  }
  for (const char* m : {"POST", "PATCH"}) {
    const auto r = d(std::string(m) + " /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(r.safe);
    CHECK_FALSE(r.idempotent);
  }
}

TEST_CASE("decision: canary by client address, stable and at the route's share") {
  auto r = catalog_route("c", "/c", route_mode::canary);
  r.percent_bp = 2500;
  decider d{table_of({r})};
  int to_service = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string client = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    const auto a = d(get("/c"), client);
    const auto b = d(get("/c"), client);
    REQUIRE(a.keyed);
    CHECK(a.key.from_client_address);
    CHECK(a.key.value == client);
    CHECK(a.bucket == bucket_of("catalog", client));
    CHECK(a.to_service == b.to_service);  // the same client, the same answer
    CHECK(a.to_service == (a.bucket < 2500));
    to_service += a.to_service;
  }
  CHECK(to_service > 2000 * 20 / 100);
  CHECK(to_service < 2000 * 30 / 100);
}

TEST_CASE("decision: canary by header, falling back to the client address") {
  auto r = catalog_route("c", "/c", route_mode::canary);
  r.percent_bp = 5000;
  r.key = {canary_key::source::header, "X-User-Id"};
  decider d{table_of({r})};
  const auto with = d(get("/c", "x-user-id: u-42\r\n"));
  CHECK_FALSE(with.key.from_client_address);
  CHECK(with.key.value == "u-42");
  CHECK(with.bucket == bucket_of("catalog", "u-42"));
  // The same user from another address lands in the same bucket.
  CHECK(d(get("/c", "X-User-Id: u-42\r\n"), "192.168.9.9").bucket == with.bucket);
  const auto empty = d(get("/c", "X-User-Id: \r\n"), "10.9.9.9");
  CHECK(empty.key.from_client_address);
  CHECK(empty.key.value == "10.9.9.9");
  const auto without = d(get("/c"), "10.9.9.9");
  CHECK(without.key.from_client_address);
  CHECK(without.bucket == bucket_of("catalog", "10.9.9.9"));
}

TEST_CASE("decision: canary by cookie, among others, in any Cookie field") {
  auto r = catalog_route("c", "/c", route_mode::canary);
  r.percent_bp = 10000;
  r.key = {canary_key::source::cookie, "uid"};
  decider d{table_of({r})};
  const auto one = d(get("/c", "Cookie: theme=dark; uid=u-7; lang=en\r\n"));
  CHECK_FALSE(one.key.from_client_address);
  CHECK(one.key.value == "u-7");
  CHECK(one.to_service);  // 100 %
  CHECK(d(get("/c", "Cookie: uid=u-7\r\n")).bucket == one.bucket);
  CHECK(d(get("/c", "Cookie: theme=dark\r\nCookie: uid=u-7\r\n")).key.value == "u-7");
  // A name that only ends like the key is another cookie; an empty value is no key.
  const auto prefix = d(get("/c", "Cookie: xuid=u-8; uid=\r\n"), "10.2.2.2");
  CHECK(prefix.key.from_client_address);
  CHECK(prefix.key.value == "10.2.2.2");
  // Not a cookie at all: a header of that name does not count.
  CHECK(d(get("/c", "uid: u-9\r\n"), "10.3.3.3").key.value == "10.3.3.3");
}

TEST_CASE("cookie_value reads one Cookie field") {
  CHECK(cookie_value("a=1; b=2", "b") == "2");
  CHECK(cookie_value("a=1;b=2", "b") == "2");
  CHECK(cookie_value("a=1; b=\"q\"", "b") == "\"q\"");
  CHECK(cookie_value("a=1; b=2 ", "b") == "2");
  CHECK(cookie_value("a=1", "b").empty());
  CHECK(cookie_value("ab=1", "b").empty());
  CHECK(cookie_value("b", "b").empty());
  CHECK(cookie_value("", "b").empty());
  CHECK(cookie_value("b=1; b=2", "b") == "1");
}

TEST_CASE("decision: a canary at 0 % or 100 % sends nobody or everybody") {
  auto zero = catalog_route("z", "/z", route_mode::canary);
  auto all = catalog_route("a", "/a", route_mode::canary);
  all.percent_bp = 10000;
  decider d{table_of({zero, all})};
  for (int i = 0; i < 200; ++i) {
    const std::string client = "10.0.0." + std::to_string(i);
    CHECK_FALSE(d(get("/z"), client).to_service);
    CHECK(d(get("/a"), client).to_service);
  }
}

TEST_CASE("decision: shadow copies reads, writes only as dry-runs, never upgrades or big bodies") {
  auto plain = catalog_route("p", "/p", route_mode::shadow);
  auto dry = catalog_route("d", "/d", route_mode::shadow);
  dry.shadow.dry_run_writes = true;
  dry.shadow.max_compare_bytes = 10;
  decider d{table_of({plain, dry})};
  const std::string post_small = "POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string post_big = "POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
  CHECK(d(get("/p")).shadow == shadow_choice::copy);
  CHECK(d("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").shadow == shadow_choice::skipped_write);
  const auto w = d(post_small);
  CHECK(w.shadow == shadow_choice::copy);
  CHECK(w.shadow_dry_run);
  CHECK_FALSE(d(get("/d")).shadow_dry_run);
  CHECK(d(post_big).shadow == shadow_choice::too_large);
  CHECK(d(get("/p", "Connection: Upgrade\r\nUpgrade: websocket\r\n")).shadow == shadow_choice::upgrade);
  d.mirror = false;  // no mirror running: nothing to copy with
  CHECK(d(get("/p")).shadow == shadow_choice::none);
}

TEST_CASE("decision: a reverse shadow copies the service's reads to the monolith, never writes") {
  auto r = catalog_route("r", "/r", route_mode::service);
  r.shadow.reverse = true;
  r.shadow.dry_run_writes = true;  // a write copied to the monolith would commit there
  decider d{table_of({r})};
  const auto read = d(get("/r"));
  CHECK(read.to_service);
  CHECK(read.shadow == shadow_choice::copy);
  CHECK_FALSE(read.shadow_primary_monolith);
  CHECK(d("PUT /r HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").shadow == shadow_choice::skipped_write);
}

TEST_CASE("decision: shadow sampling by share and by key") {
  auto share = catalog_route("s", "/s", route_mode::shadow);
  share.shadow.sample_bp = 2000;
  auto keyed = catalog_route("k", "/k", route_mode::shadow);
  keyed.shadow.sample_bp = 5000;
  keyed.shadow.sample_by_key = true;
  keyed.key = {canary_key::source::header, "X-User-Id"};
  decider d{table_of({share, keyed})};
  int copied = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto c = d(get("/s")).shadow;
    REQUIRE((c == shadow_choice::copy || c == shadow_choice::not_sampled));
    copied += c == shadow_choice::copy;
  }
  CHECK(copied > 5000 * 17 / 100);
  CHECK(copied < 5000 * 23 / 100);
  // By key: one user's requests are all copied or none are.
  for (int u = 0; u < 100; ++u) {
    const std::string h = "X-User-Id: user-" + std::to_string(u) + "\r\n";
    const auto first = d(get("/k", h));
    CHECK(first.keyed);
    for (int i = 0; i < 5; ++i) CHECK(d(get("/k", h)).shadow == first.shadow);
    CHECK((first.shadow == shadow_choice::copy) == (first.bucket < 5000));
  }
}
