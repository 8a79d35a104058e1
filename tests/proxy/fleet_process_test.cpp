// A fleet of banyan-proxy instances on a real etcd (Debian's etcd-server, started by the test on
// free loopback ports): one routing state, changes that cannot both win, etcd lost and found, a
// write cut-over that holds on every instance, and etcd's members failing.
#include "support/etcd_cluster.hpp"
#include "support/fleet_proxy.hpp"
#include "support/http_client.hpp"
#include "support/servers.hpp"
#include "support/test_upstream.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

using namespace banyan::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

using instance = fleet_proxy;

// What every case starts from: etcd, the old owner and the new one, the fleet's token.
struct fleet_setup {
  explicit fleet_setup(int members) : etcd(members), token(write_fleet_token(shared)) {}
  temp_dir shared;  // where the token lives
  etcd_cluster etcd;
  test_upstream old_app{"old"}, service{"new"};
  std::string token;
};

std::string routes_body(const std::string& service_url, const std::string& item_mode, const std::string& reason) {
  return R"({"routes":[{"id":"item","match":{"path":"/items/{id}","methods":["GET"]},"service":"items","mode":")" +
         item_mode + R"("},{"id":"item-write","match":{"path":"/items/{id}","methods":["PUT"]},"service":"items","mode":"monolith"}],)"
         R"("services":{"items":")" + service_url + R"("},"reason":")" + reason + R"("})";
}

// Who answered a GET through an instance's data plane ("old /items/1" or "new /items/1").
std::string who(const instance& i, const std::string& path = "/items/1") { return http_call(i.port, "GET", path).body; }

json::object fleet_of(const instance& i) {
  const auto r = i.admin("GET", "/api/v1/fleet");
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

bool all_applied(const instance& i, std::size_t count) {
  const auto r = i.admin("GET", "/api/v1/fleet");
  if (r.status != 200) return false;
  const auto doc = json::parse(r.body).as_object();
  const auto& list = doc.at("instances").as_array();
  if (list.size() != count) return false;
  for (const auto& v : list)
    if (v.at("applied_revision").as_int64() != doc.at("state_revision").as_int64()) return false;
  return true;
}

}  // namespace

TEST_CASE("fleet: three proxies on one etcd serve one routing — a change on any reaches every one, audited once") {
  fleet_setup f(1);
  auto& etcd = f.etcd;
  test_upstream &old_app = f.old_app, &service = f.service;
  const std::string& token = f.token;
  instance a(old_app.url(), etcd.endpoints(), token), b(old_app.url(), etcd.endpoints(), token),
      c(old_app.url(), etcd.endpoints(), token);
  REQUIRE(eventually([&] { return all_applied(a, 3); }));

  // A change on b: every instance serves it, from etcd, without being told.
  const auto put = b.admin("PUT", "/api/v1/routes", routes_body(service.url(), "service", "items move"));
  REQUIRE(put.status == 200);
  for (const instance* i : {&a, &b, &c}) CHECK(eventually([&] { return who(*i) == "new /items/1"; }, 5s));
  CHECK(eventually([&] { return all_applied(c, 3); }, 5s));
  const auto revision = json::parse(put.body).at("routing").at("revision").as_int64();
  CHECK(fleet_of(a).at("state_revision").as_int64() == revision);

  // One audit log: the bootstrap by the first instance, the change once, seen from any instance.
  const auto audit = json::parse(c.admin("GET", "/api/v1/audit").body).at("entries").as_array();
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].at("action") == "routes.bootstrap");
  CHECK(audit[1].at("action") == "routes.replace");
  CHECK(audit[1].at("reason") == "items move");
  CHECK(audit[1].at("id").as_int64() == 2);

  // `banyan fleet` lists the three with the revision each applied; `banyan routes` says none lags.
  temp_dir cli;
  const auto listed = run_banyan({"--admin", a.admin_url(), "--token-file", token, "fleet"}, cli);
  CHECK(listed.code == 0);
  CHECK(listed.out.find("3 instances; the fleet's state is at revision " + std::to_string(revision)) != std::string::npos);
  CHECK(listed.out.find(" (this)") != std::string::npos);
  const auto routes = run_banyan({"--admin", c.admin_url(), "--token-file", token, "routes"}, cli);
  CHECK(routes.code == 0);
  CHECK(routes.out.find("serves revision") == std::string::npos);

  // A restarted instance takes the fleet's routing, not its configuration's (it has none).
  REQUIRE(b.stop() == 0);
  CHECK(eventually([&] { return json::parse(a.admin("GET", "/api/v1/fleet").body).at("instances").as_array().size() == 2; },
                   5s));  // it left: its lease was revoked
  b.start();
  CHECK(who(b) == "new /items/1");
  CHECK(eventually([&] { return all_applied(a, 3); }, 5s));

  // Killed -9 and started again, it resumes the fleet's routing too (its old record lapses with
  // its lease).
  c.proc->signal(SIGKILL);
  c.proc->wait(5s);
  c.start();
  CHECK(who(c) == "new /items/1");
  CHECK(eventually([&] { return all_applied(a, 3); }, 20s));
}

TEST_CASE("fleet: two plan advances through two instances from the same stage — exactly one wins") {
  fleet_setup f(1);
  test_upstream &old_app = f.old_app, &service = f.service;
  instance a(old_app.url(), f.etcd.endpoints(), f.token), b(old_app.url(), f.etcd.endpoints(), f.token);
  auto plan_body = [&](const std::string& stage, const std::string& mode, const std::string& action,
                       const std::string& from) {
    const auto routes = json::parse(routes_body(service.url(), mode, "x")).as_object();
    json::object body{{"name", "extract-items"}, {"document", "stages: [shadow, service]"}, {"stage", stage},
                      {"routes", routes.at("routes")}, {"services", routes.at("services")}, {"action", action},
                      {"reason", action + " via " + from}};
    if (action == "advance") body["from_stage"] = "shadow";
    return json::serialize(body);
  };
  REQUIRE(a.admin("PUT", "/api/v1/plan", plan_body("shadow", "shadow", "apply", "a")).status == 200);
  REQUIRE(eventually([&] { return all_applied(a, 2); }, 5s));
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> wins{0}, conflicts{0};
    std::thread ta([&] {
      const auto r = a.admin("PUT", "/api/v1/plan", plan_body("service", "service", "advance", "a"));
      (r.status == 200 ? wins : conflicts) += r.status == 200 || r.status == 409 ? 1 : 0;
    });
    std::thread tb([&] {
      const auto r = b.admin("PUT", "/api/v1/plan", plan_body("service", "service", "advance", "b"));
      (r.status == 200 ? wins : conflicts) += r.status == 200 || r.status == 409 ? 1 : 0;
    });
    ta.join();
    tb.join();
    CHECK(wins == 1);
    CHECK(conflicts == 1);
    // Back to the first stage for the next round (a rollback, through either).
    REQUIRE(eventually([&] { return all_applied(a, 2); }, 5s));
    auto back = json::parse(plan_body("shadow", "shadow", "rollback", "a")).as_object();
    back["from_stage"] = "service";
    REQUIRE(a.admin("PUT", "/api/v1/plan", json::serialize(back)).status == 200);
    REQUIRE(eventually([&] { return all_applied(a, 2); }, 5s));
  }
  int advances = 0;
  const auto audit = json::parse(b.admin("GET", "/api/v1/audit").body);  // named: the loop must not outlive it
  for (const auto& e : audit.at("entries").as_array()) advances += e.at("action") == "plan.advance" ? 1 : 0;
  CHECK(advances == 3);
}

TEST_CASE("fleet: route changes through all three instances under continuous traffic — zero failed requests, and a "
          "watcher behind etcd's compaction converges") {
  fleet_setup f(1);
  test_upstream &old_app = f.old_app, &service = f.service;
  instance a(old_app.url(), f.etcd.endpoints(), f.token), b(old_app.url(), f.etcd.endpoints(), f.token),
      c(old_app.url(), f.etcd.endpoints(), f.token);
  REQUIRE(a.admin("PUT", "/api/v1/routes", routes_body(service.url(), "shadow", "start")).status == 200);
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, answered{0};
  std::vector<std::thread> clients;
  for (const instance* i : {&a, &b, &c})
    clients.emplace_back([&, port = i->port] {
      while (!stop) {
        const auto r = http_call(port, "GET", "/items/" + std::to_string(answered % 50));
        (r.status == 200 ? answered : failed)++;
      }
    });
  const char* modes[] = {R"({"mode":"service"})", R"({"mode":"canary","percent":30})", R"({"mode":"shadow"})"};
  const instance* via[] = {&a, &b, &c};
  for (int n = 0; n < 9; ++n) {
    const auto* i = via[n % 3];
    REQUIRE(eventually([&] { return i->admin("POST", "/api/v1/routes/item/mode", modes[n % 3]).status == 200; }, 5s));
    std::this_thread::sleep_for(100ms);
  }
  // c hangs while three more changes are made and etcd compacts its history past them.
  c.proc->signal(SIGSTOP);
  for (int n = 0; n < 3; ++n)
    REQUIRE(a.admin("POST", "/api/v1/routes/item/mode", modes[n]).status == 200);
  f.etcd.compact(f.etcd.revision());
  c.proc->signal(SIGCONT);
  CHECK(eventually([&] { return all_applied(a, 3); }, 20s));
  CHECK(eventually([&] { return who(c, "/items/7") == "old /items/7"; }, 5s));  // shadow: the monolith answers
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(answered > 100);
}

TEST_CASE("fleet: etcd away — the routing applied last is served, changes 503, writes stop at the lease — back, all resumes") {
  fleet_setup f(1);
  auto& etcd = f.etcd;
  test_upstream &old_app = f.old_app, &service = f.service;
  const std::string& token = f.token;
  instance a(old_app.url(), etcd.endpoints(), token), b(old_app.url(), etcd.endpoints(), token);
  REQUIRE(a.admin("PUT", "/api/v1/routes", routes_body(service.url(), "service", "start")).status == 200);
  REQUIRE(eventually([&] { return who(b) == "new /items/1"; }, 5s));

  etcd.pause(0);  // hung: connections open, nothing answered
  const auto change = a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"monolith"})");
  CHECK(change.status == 503);
  CHECK(change.body.find("state_store_unavailable") != std::string::npos);
  for (const instance* i : {&a, &b}) {
    CHECK(who(*i) == "new /items/1");  // the routing applied last
    const auto ready = http_call(i->admin_port, "GET", "/readyz");
    CHECK(ready.status == 200);
    CHECK(eventually([&] { return http_call(i->admin_port, "GET", "/readyz").body.find("\"changes\":\"refused: etcd") !=
                                  std::string::npos; }, 6s));
    CHECK(eventually([&] { return http_call(i->admin_port, "GET", "/metrics").body.find("banyan_fleet_etcd_reachable 0") !=
                                  std::string::npos; }, 6s));
  }
  // Writes go on while the lease may be alive, and stop before etcd can have expired it (TTL 10 s):
  // another instance might otherwise have moved their owner unseen. Reads are served all along.
  const auto paused_at = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return http_call(b.port, "PUT", "/items/1", "{}").status == 503; }, 12s));
  CHECK(std::chrono::steady_clock::now() - paused_at < 10s);
  const auto refused = http_call(b.port, "PUT", "/items/1", "{}");
  CHECK(refused.body.find("fleet_unreachable") != std::string::npos);
  CHECK(who(b) == "new /items/1");

  etcd.resume(0);
  CHECK(eventually([&] { return http_call(b.port, "PUT", "/items/1", "{}").status == 200; }, 10s));
  REQUIRE(eventually([&] { return a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"monolith"})").status == 200; }, 10s));
  CHECK(eventually([&] { return who(b) == "old /items/1"; }, 5s));
  CHECK(eventually([&] { return all_applied(b, 2); }, 10s));
}

TEST_CASE("fleet: a write cut-over holds every instance's writes — a hung instance stops it — once its lease is gone "
          "it goes through, and no write reaches the old owner after the switch") {
  fleet_setup f(1);
  auto& etcd = f.etcd;
  test_upstream &old_app = f.old_app, &service = f.service;
  const std::string& token = f.token;
  instance a(old_app.url(), etcd.endpoints(), token, "cutover: {hold_limit: 2s}\n"),
      b(old_app.url(), etcd.endpoints(), token, "cutover: {hold_limit: 2s}\n"),
      c(old_app.url(), etcd.endpoints(), token, "cutover: {hold_limit: 2s}\n");
  REQUIRE(a.admin("PUT", "/api/v1/routes", routes_body(service.url(), "service", "start")).status == 200);
  REQUIRE(eventually([&] { return all_applied(a, 3); }, 5s));

  // Writers through all three instances, all the way through.
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, sent{0};
  std::vector<std::thread> writers;
  for (const instance* i : {&a, &b, &c})
    writers.emplace_back([&, port = i->port] {
      while (!stop) {
        // A hung instance answers once it runs again: wait for it longer than it hangs.
        http_connection conn(port, 30s);
        const auto r = conn.request("PUT", "/items/" + std::to_string(++sent), "{}");
        if (r.status != 200 && r.status != 503) ++failed;
        std::this_thread::sleep_for(2ms);
      }
    });
  std::this_thread::sleep_for(300ms);

  // c hangs: it cannot say it holds the writes, so the barrier gives up and nothing changes.
  c.proc->signal(SIGSTOP);
  const auto gave_up = a.admin("POST", "/api/v1/routes/item-write/mode", R"({"mode":"service","reason":"move"})");
  CHECK(gave_up.status == 409);
  CHECK(gave_up.body.find("waiting for the fleet: instances not yet holding these writes") != std::string::npos);
  CHECK(json::parse(a.admin("GET", "/api/v1/routes").body).at("write_owners").at("item-write") == "monolith");

  // Past its lease (10 s), c is out of the fleet, and stopped forwarding writes before that: the
  // cut-over goes through with a and b holding.
  REQUIRE(eventually([&] { return fleet_of(a).at("instances").as_array().size() == 2; }, 15s));
  const auto moved = a.admin("POST", "/api/v1/routes/item-write/mode", R"({"mode":"service","reason":"move"})");
  REQUIRE(moved.status == 200);
  CHECK(json::parse(moved.body).at("cutover").at("switched") == true);
  // The instances acked a and b's hold to a directly; an ack of no hold a coordinates is refused.
  CHECK(a.admin("POST", "/api/v1/fleet/acks", R"({"hold":"b@1","instance":"b"})").status == 409);
  CHECK(a.admin("POST", "/api/v1/fleet/acks", R"({"hold":"b@1"})").status == 422);
  const int old_writes_at_switch = [&] {
    int n = 0;
    for (const auto& p : old_app.paths()) n += p.rfind("/items/", 0) == 0 ? 1 : 0;  // PUTs and GETs share paths
    return n;
  }();
  // c comes back: it registers again and catches up before it forwards any write.
  c.proc->signal(SIGCONT);
  REQUIRE(eventually([&] { return all_applied(a, 3); }, 15s));
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& t : writers) t.join();
  CHECK(failed == 0);
  int old_writes_after = 0;
  for (const auto& p : old_app.paths()) old_writes_after += p.rfind("/items/", 0) == 0 ? 1 : 0;
  CHECK(old_writes_after == old_writes_at_switch);  // not one write reached the old owner after the switch
  CHECK(eventually([&] { return http_call(c.port, "PUT", "/items/x", "{}").body == "new /items/x"; }, 5s));
  CHECK(c.log().find("registering again") != std::string::npos);
}

TEST_CASE("fleet: on three etcd members, one lost changes nothing — two lost, changes are refused and traffic served — "
          "back, changes again") {
  fleet_setup f(3);
  auto& etcd = f.etcd;
  test_upstream &old_app = f.old_app, &service = f.service;
  const std::string& token = f.token;
  instance a(old_app.url(), etcd.endpoints(), token), b(old_app.url(), etcd.endpoints(), token);
  REQUIRE(a.admin("PUT", "/api/v1/routes", routes_body(service.url(), "shadow", "start")).status == 200);

  etcd.kill(0);  // the member both instances talked to first
  CHECK(eventually([&] { return a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"service"})").status == 200; }, 10s));
  CHECK(eventually([&] { return who(b) == "new /items/1"; }, 10s));

  etcd.kill(1);  // no quorum
  CHECK(eventually([&] { return a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"monolith"})").status == 503; }, 15s));
  CHECK(who(a) == "new /items/1");
  CHECK(who(b) == "new /items/1");

  etcd.start(0);
  etcd.start(1);
  CHECK(eventually([&] { return a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"monolith"})").status == 200; }, 20s));
  CHECK(eventually([&] { return who(b) == "old /items/1"; }, 10s));
  CHECK(eventually([&] { return all_applied(a, 2); }, 15s));
}

TEST_CASE("fleet: an instance refuses to start while etcd cannot be read, unless told to start from its local copy") {
  fleet_setup f(1);
  auto& etcd = f.etcd;
  test_upstream &old_app = f.old_app, &service = f.service;
  const std::string& token = f.token;
  instance a(old_app.url(), etcd.endpoints(), token, "  start_from_local_copy: true\n");
  instance b(old_app.url(), etcd.endpoints(), token);
  REQUIRE(a.admin("PUT", "/api/v1/routes", routes_body(service.url(), "service", "start")).status == 200);
  REQUIRE(eventually([&] { return all_applied(a, 2); }, 5s));
  REQUIRE(a.stop() == 0);
  REQUIRE(b.stop() == 0);

  etcd.pause(0);
  {
    child_process refused({binary("banyan-proxy"), "--config", b.config}, b.dir.file("refused.log"));
    const auto code = refused.wait(20s);
    CHECK(code == 1);
    std::ifstream in(b.dir.file("refused.log"));
    std::stringstream err;
    err << in.rdbuf();
    CHECK(err.str().find("refusing to start with stale or empty routing") != std::string::npos);
  }
  a.start();  // told to: the routing it applied last, with a warning
  CHECK(who(a) == "new /items/1");
  CHECK(a.log().find("serving the local copy of the routing") != std::string::npos);
  CHECK(http_call(a.port, "PUT", "/items/1", "{}").status == 503);  // no lease yet: no writes

  etcd.resume(0);
  CHECK(eventually([&] { return http_call(a.admin_port, "GET", "/readyz").body.find("changes") == std::string::npos; }, 10s));
  CHECK(eventually([&] { return http_call(a.port, "PUT", "/items/1", "{}").status == 200; }, 10s));
  CHECK(a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"monolith"})").status == 200);
}

TEST_CASE("fleet: etcd replaced by an empty cluster — the instances write the routing in force back, and go on") {
  fleet_setup f(1);
  auto& etcd = f.etcd;
  test_upstream &old_app = f.old_app, &service = f.service;
  const std::string& token = f.token;
  instance a(old_app.url(), etcd.endpoints(), token), b(old_app.url(), etcd.endpoints(), token);
  REQUIRE(a.admin("PUT", "/api/v1/routes", routes_body(service.url(), "service", "start")).status == 200);
  REQUIRE(eventually([&] { return all_applied(a, 2); }, 5s));

  etcd.replace_with_empty();
  CHECK(who(a) == "new /items/1");
  CHECK(eventually([&] { return all_applied(b, 2); }, 20s));
  CHECK(who(b) == "new /items/1");
  const auto audit = json::parse(a.admin("GET", "/api/v1/audit").body).at("entries").as_array();
  REQUIRE(audit.size() == 1);
  CHECK(audit[0].at("action") == "fleet.restore");
  CHECK(eventually([&] { return a.admin("POST", "/api/v1/routes/item/mode", R"({"mode":"monolith"})").status == 200; }, 5s));
  CHECK(eventually([&] { return who(b) == "old /items/1"; }, 5s));
}

TEST_CASE("fleet: gates judge the whole fleet's traffic — a breach on one instance alone is in every instance's "
          "evidence, and an instance that does not answer makes the gate wait") {
  fleet_setup f(1);
  test_upstream &old_app = f.old_app, &service = f.service;
  instance a(old_app.url(), f.etcd.endpoints(), f.token), b(old_app.url(), f.etcd.endpoints(), f.token),
      c(old_app.url(), f.etcd.endpoints(), f.token);
  REQUIRE(a.admin("PUT", "/api/v1/routes",
                  R"({"routes":[{"id":"any","match":{"path":"/{name}","methods":["GET"]},"service":"items","mode":"service"}],)"
                  R"("services":{"items":")" + service.url() + R"("},"reason":"all to the service"})").status == 200);
  REQUIRE(eventually([&] { return all_applied(a, 3); }, 5s));
  // a and b see a healthy service; only c's users hit what fails (the service answers /fail 500).
  for (int i = 0; i < 60; ++i) {
    CHECK(http_call(a.port, "GET", "/ok").status == 200);
    CHECK(http_call(b.port, "GET", "/ok").status == 200);
  }
  for (int i = 0; i < 30; ++i) http_call(c.port, "GET", "/fail");
  auto errors_in = [](const instance& i, const std::string& scope) -> std::int64_t {
    const auto r = i.admin("GET", "/api/v1/evidence?since_ms=0" + scope);
    if (r.status != 200) return -1;
    const auto doc = json::parse(r.body).as_object();
    const auto* route = doc.at("routes").as_object().if_contains("any");
    return route ? route->at("service").at("errors").as_int64() : 0;
  };
  // Asked of a, the fleet's evidence holds c's failures; a's own holds none.
  CHECK(eventually([&] { return errors_in(a, "") == 30; }, 10s));
  CHECK(errors_in(a, "&scope=instance") == 0);
  // Every instance's figures arrive (each harvests its counters every 500 ms).
  json::object doc;
  CHECK(eventually([&] {
    doc = json::parse(b.admin("GET", "/api/v1/evidence?since_ms=0").body).as_object();
    const auto* any = doc.at("routes").as_object().if_contains("any");
    return any && any->at("service").at("requests").as_int64() == 150;
  }, 10s));
  CHECK(doc.at("fleet").at("asked").as_int64() == 3);
  CHECK(doc.at("fleet").at("answered").as_int64() == 3);
  // The latency is the fleet's histogram, not an average of three percentiles.
  CHECK(doc.at("routes").at("any").at("service").at("histogram").as_array().size() >= 1);

  // `banyan shadow report` is the fleet's too: each instance keeps its own shadow store.
  REQUIRE(a.admin("POST", "/api/v1/routes/any/mode", R"({"mode":"shadow"})").status == 200);
  REQUIRE(eventually([&] { return all_applied(a, 3); }, 5s));
  for (const instance* i : {&a, &b, &c})
    for (int n = 0; n < 20; ++n) CHECK(http_call(i->port, "GET", "/ok").status == 200);
  json::object report;
  CHECK(eventually([&] {
    report = json::parse(c.admin("GET", "/api/v1/shadow/report").body).as_object();
    const auto& routes = report.at("routes").as_array();
    return !routes.empty() && routes[0].at("counts").at("compared").as_int64() == 60;
  }, 10s));
  CHECK(report.at("fleet").at("answered").as_int64() == 3);
  const auto own = json::parse(c.admin("GET", "/api/v1/shadow/report?scope=instance").body).as_object();
  CHECK(own.at("routes").at(0).at("counts").at("compared").as_int64() == 20);
  temp_dir cli;
  const auto text = run_banyan({"--admin", a.admin_url(), "--token-file", f.token, "shadow", "report"}, cli);
  CHECK(text.out.find("across the fleet: 3 of 3 instances") != std::string::npos);

  // c hangs: the fleet's evidence says it is missing, and a plan's gates would wait for it.
  c.proc->signal(SIGSTOP);
  const auto partial = json::parse(a.admin("GET", "/api/v1/evidence?since_ms=0").body).as_object();
  CHECK(partial.at("fleet").at("answered").as_int64() == 2);
  CHECK(partial.at("fleet").at("missing").as_object().size() == 1);
  c.proc->signal(SIGCONT);
}
