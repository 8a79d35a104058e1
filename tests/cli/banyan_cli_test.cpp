// The banyan binary as operators run it.
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace banyan::test;


TEST_CASE("banyan plan validate: the plans in migrations/ are valid", "[cli]") {
  temp_dir dir;
  for (const char* plan : {"catalog-reads.yaml", "catalog-writes.yaml"}) {
    auto r = run_banyan({"plan", "validate", std::string(BANYAN_SOURCE_DIR) + "/migrations/" + plan}, dir);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("is valid") != std::string::npos);
  }
}

TEST_CASE("banyan plan validate: exit 2 and FILE:LINE:COL lines for a bad plan", "[cli]") {
  temp_dir dir;
  const auto file = dir.file("bad.yaml");
  std::ofstream(file) << "plan: bad\nservices: {catalog: http://127.0.0.1:1}\nroutes:\n  - id: a\n    match: {path: /x}\n"
                         "    service: catalog\nstages:\n  - name: s\n    routes: {a: sideways}\n";
  auto r = run_banyan({"plan", "validate", file}, dir);
  CHECK(r.code == 2);
  CHECK(r.err == file + ":9:17: error: unknown mode 'sideways' (monolith, shadow, canary or service)\n");
  CHECK(r.out.empty());

  auto json = run_banyan({"--output", "json", "plan", "validate", file}, dir);
  CHECK(json.code == 2);
  auto v = boost::json::parse(json.out);
  CHECK_FALSE(v.at("valid").as_bool());
  CHECK(v.at("diagnostics").at(0).at("line").as_int64() == 9);
  CHECK(v.at("diagnostics").at(0).at("column").as_int64() == 17);
}

TEST_CASE("every binary names itself and its version", "[cli]") {
  for (const std::string name : {"banyan-proxy", "legacy-shop", "catalog-service"}) {
    INFO(name);
    child_process p({binary(name), "--version"});
    const auto line = p.read_line(std::chrono::seconds(5));
    REQUIRE(line);
    CHECK(line->rfind(name + " 0.", 0) == 0);
    CHECK(p.wait(std::chrono::seconds(5)) == 0);
  }
}

TEST_CASE("banyan: usage errors and unreadable files exit 2", "[cli]") {
  temp_dir dir;
  CHECK(run_banyan({}, dir).code == 2);
  CHECK(run_banyan({"plan"}, dir).code == 2);
  CHECK(run_banyan({"plan", "validate"}, dir).code == 2);
  CHECK(run_banyan({"frobnicate"}, dir).code == 2);
  CHECK(run_banyan({"--output", "yaml", "plan", "validate", "x"}, dir).code == 2);
  auto missing = run_banyan({"plan", "validate", dir.file("nope.yaml")}, dir);
  CHECK(missing.code == 2);
  CHECK(missing.err.find("nope.yaml:1:1: error: cannot read the file") != std::string::npos);
  auto version = run_banyan({"--version"}, dir);
  CHECK(version.code == 0);
  CHECK(version.out.rfind("banyan 0.", 0) == 0);
  auto help = run_banyan({"plan", "validate", "--help"}, dir);
  CHECK(help.code == 0);
  CHECK(help.out.find("Example:") != std::string::npos);
}

namespace {
// A real banyan-proxy for the CLI to talk to.
struct running_proxy {
  temp_dir& dir;
  std::unique_ptr<child_process> proc;
  std::string admin;
  // `extra`: more arguments (--config FILE).
  explicit running_proxy(temp_dir& d, std::vector<std::string> extra = {},
                         const std::string& monolith = "http://127.0.0.1:1")
      : dir(d) {
    std::vector<std::string> argv{binary("banyan-proxy"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                  "--monolith", monolith, "--state-dir", dir.file("state"), "--access-log", "off"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(argv, dir.file("proxy.log"));
    wait_for_listening(*proc);
    auto line = proc->read_line(std::chrono::seconds(10));
    REQUIRE(line);
    admin = "http://" + line->substr(line->rfind(' ') + 1);
  }
  ~running_proxy() {
    proc->signal(SIGTERM);
    proc->wait(std::chrono::seconds(10));
  }
  std::vector<std::string> args(std::vector<std::string> verb) const {
    std::vector<std::string> a{"--admin", admin, "--token-file", dir.file("state/admin.token")};
    a.insert(a.end(), verb.begin(), verb.end());
    return a;
  }
};
}  // namespace

TEST_CASE("banyan routes, route set, audit and plan diff against a real proxy", "[cli]") {
  temp_dir dir;
  running_proxy proxy(dir);
  const std::string plan = std::string(BANYAN_SOURCE_DIR) + "/migrations/catalog-reads.yaml";

  auto empty = run_banyan(proxy.args({"routes"}), dir);
  CHECK(empty.code == 0);
  CHECK(empty.out.find("no routes") != std::string::npos);

  // plan diff shows the change and makes none.
  auto diff = run_banyan(proxy.args({"plan", "diff", plan, "--stage", "canary-5"}), dir);
  INFO(diff.err);
  CHECK(diff.code == 0);
  CHECK(diff.out.find("service catalog: new → http://127.0.0.1:8082") != std::string::npos);
  CHECK(diff.out.find("route product-detail: not routed yet → canary 5%") != std::string::npos);
  CHECK(run_banyan(proxy.args({"routes"}), dir).out.find("no routes") != std::string::npos);
  auto diff_json = run_banyan(proxy.args({"--output", "json", "plan", "diff", plan}), dir);
  CHECK(boost::json::parse(diff_json.out).at("changes").as_bool());
  CHECK(run_banyan(proxy.args({"plan", "diff", plan, "--stage", "canary50"}), dir).code == 2);

  // Put a route in place through the admin API, then drive it with the CLI.
  {
    std::ofstream(dir.file("routes.json"))
        << R"({"services":{"catalog":"http://127.0.0.1:2"},"routes":[{"id":"product-detail","match":{"methods":["GET"],)"
           R"("path":"/api/products/{id}"},"service":"catalog","mode":"shadow"}]})";
  }
  std::string token;
  std::ifstream(dir.file("state/admin.token")) >> token;
  {
    // The CLI has no `plan apply` yet: the admin API is called the way it will call it.
    child_process curl({"/usr/bin/curl", "-sf", "-X", "PUT", "-H", "Authorization: Bearer " + token, "-H",
                        "Content-Type: application/json", "--data-binary", "@" + dir.file("routes.json"),
                        proxy.admin + "/api/v1/routes"},
                       dir.file("curl.err"));
    REQUIRE(curl.wait(std::chrono::seconds(10)) == 0);
  }
  auto routes = run_banyan(proxy.args({"routes"}), dir);
  CHECK(routes.out.find("product-detail        shadow") != std::string::npos);
  auto json = boost::json::parse(run_banyan(proxy.args({"--output", "json", "routes"}), dir).out);
  CHECK(json.at("routes").at(0).at("share").as_string() == "0% (mirrored)");

  auto set = run_banyan(proxy.args({"--as", "alice", "route", "set", "product-detail", "canary", "--percent", "5",
                                    "--reason", "first users"}),
                        dir);
  CHECK(set.code == 0);
  CHECK(set.out == "route product-detail: shadow → canary 5%\n");
  CHECK(run_banyan(proxy.args({"route", "set", "nope", "service"}), dir).code == 2);
  CHECK(run_banyan(proxy.args({"route", "set", "product-detail", "sideways"}), dir).code == 2);
  auto out_of_range = run_banyan(proxy.args({"route", "set", "product-detail", "canary", "--percent", "150"}), dir);
  CHECK(out_of_range.code == 2);
  CHECK(out_of_range.err.find("--percent: must be from 0 to 100, got 150") != std::string::npos);
  // As plans do: a canary needs its share (it would keep the route's old one).
  auto no_share = run_banyan(proxy.args({"route", "set", "product-detail", "canary"}), dir);
  CHECK(no_share.code == 2);
  CHECK(no_share.err.find("canary needs --percent") != std::string::npos);
  auto contradictory = run_banyan(proxy.args({"route", "set", "product-detail", "service", "--percent", "5"}), dir);
  CHECK(contradictory.code == 2);
  CHECK(contradictory.err.find("percent applies to canary only") != std::string::npos);

  {
    // Bash completion offers the live route ids.
    const std::string script = std::string(BANYAN_SOURCE_DIR) + "/cli/completion/banyan.bash";
    child_process bash({"/bin/bash", "-c",
                        "source '" + script + "'; COMP_WORDS=('" + binary("banyan") + "' --admin '" + proxy.admin +
                            "' --token-file '" + dir.file("state/admin.token") +
                            "' route set pro); COMP_CWORD=7; _banyan; echo \"${COMPREPLY[*]}\""},
                       dir.file("bash.err"));
    auto line = bash.read_line(std::chrono::seconds(10));
    REQUIRE(line);
    CHECK(*line == "product-detail");
    bash.wait(std::chrono::seconds(5));
  }

  auto audit = boost::json::parse(run_banyan(proxy.args({"--output", "json", "audit"}), dir).out);
  const auto& last = audit.at("entries").as_array().back();
  CHECK(last.at("operator").as_string() == "alice");
  CHECK(last.at("reason").as_string() == "first users");
  CHECK(last.at("action").as_string() == "route.mode");
  CHECK(run_banyan(proxy.args({"audit"}), dir).out.find("first users") != std::string::npos);
}

namespace {
// An app none of ours: Python's own file server (no change feed, 404 on /internal/*, 501 on PUT).
struct python_http_server {
  std::unique_ptr<child_process> proc;
  std::string url;
  explicit python_http_server(const temp_dir& dir, const std::string& name) {
    std::filesystem::create_directories(dir.file(name));
    proc = std::make_unique<child_process>(std::vector<std::string>{"/usr/bin/python3", "-u", "-m", "http.server", "0",
                                                                    "--bind", "127.0.0.1", "--directory", dir.file(name)},
                                           dir.file(name + ".log"));
    const auto line = proc->read_line(std::chrono::seconds(10));  // "Serving HTTP on 127.0.0.1 port N (…"
    REQUIRE(line);
    const auto at = line->find(" port ");
    REQUIRE(at != std::string::npos);
    url = "http://127.0.0.1:" + std::to_string(std::stoi(line->substr(at + 6)));
  }
  ~python_http_server() {
    proc->signal(SIGTERM);
    proc->wait(std::chrono::seconds(5));
  }
};
}  // namespace

// Issue 20: in front of an app with no feed, `route set item canary --percent 30` worked, and then
// every change of that route failed ("item split → svc … not a URL: ''"), even going back.
TEST_CASE("banyan route set: a canary of a write route over apps without a feed moves up, on and back", "[cli]") {
  temp_dir dir;
  python_http_server monolith(dir, "monolith"), svc(dir, "svc");
  running_proxy proxy(dir, {}, monolith.url);
  const auto put = run_banyan(proxy.args({"route", "add", "item", "--path", "/items/{id}", "--method", "GET", "--method",
                                          "PUT", "--method", "DELETE", "--service", "svc", "--url", svc.url}),
                              dir);
  INFO(put.out << put.err);
  REQUIRE(put.code == 0);
  auto set = [&](std::vector<std::string> verb) {
    verb.insert(verb.begin(), {"route", "set", "item"});
    auto r = run_banyan(proxy.args(verb), dir);
    UNSCOPED_INFO(r.out << r.err);
    return r;
  };
  auto r = set({"canary", "--percent", "30"});
  CHECK(r.code == 0);
  CHECK(r.out.find("route item: shadow → canary 30%\n") == 0);
  CHECK(r.out.find("route item: monolith → writes split 30/70 between svc and the monolith") != std::string::npos);
  CHECK(r.out.find("writes moved: item monolith → svc") != std::string::npos);
  CHECK(r.out.find("monolith publishes no change feed: nothing to sync") != std::string::npos);
  r = set({"canary", "--percent", "60"});
  CHECK(r.code == 0);
  CHECK(r.out.find("route item: canary 30% → canary 60%") == 0);
  CHECK(r.out.find("writes split 30/70 between svc and the monolith → writes split 60/40 between svc and the monolith") !=
        std::string::npos);
  r = set({"service"});
  CHECK(r.code == 0);
  CHECK(r.out.find("route item: canary 60% → service") == 0);
  r = set({"canary", "--percent", "10"});
  CHECK(r.code == 0);
  r = set({"monolith", "--reason", "back"});  // never blocked by the barrier's own bookkeeping
  CHECK(r.code == 0);
  CHECK(r.out.find("route item: canary 10% → monolith") == 0);
  CHECK(r.out.find("writes moved: item svc → monolith") != std::string::npos);
  CHECK(r.err.empty());
  // No feed on either side: a service's write routes may also move one at a time.
  REQUIRE(run_banyan(proxy.args({"route", "add", "item-create", "--path", "/items", "--method", "POST", "--service",
                                 "svc"}),
                     dir)
              .code == 0);
  CHECK(run_banyan(proxy.args({"route", "set", "item-create", "service"}), dir).code == 0);
  // Several routes in one change: one audit entry naming them all.
  r = run_banyan(proxy.args({"route", "set", "item", "item-create", "shadow", "--reason", "together"}), dir);
  CHECK(r.code == 0);
  CHECK(r.out.find("route item: monolith → shadow\nroute item-create: service → shadow\n") == 0);
  const auto audit = boost::json::parse(run_banyan(proxy.args({"--output", "json", "audit"}), dir).out);
  const auto& last = audit.at("entries").as_array().back();
  CHECK(last.at("target").as_string() == "item,item-create");
  CHECK(last.at("reason").as_string() == "together");
  // Usage: the last word is the mode; a route named twice or unknown changes nothing.
  CHECK(run_banyan(proxy.args({"route", "set", "item", "item-create"}), dir).code == 2);
  CHECK(run_banyan(proxy.args({"route", "set", "item", "item", "service"}), dir).code == 2);
  const auto unknown = run_banyan(proxy.args({"route", "set", "item", "nope", "service"}), dir);
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("no route with id 'nope'") != std::string::npos);
  CHECK(boost::json::parse(run_banyan(proxy.args({"--output", "json", "routes"}), dir).out)
            .at("routes")
            .at(0)
            .at("mode")
            .as_string() == "shadow");
}

TEST_CASE("banyan route add, edit and remove define routes without curl, audited with the operator", "[cli]") {
  temp_dir dir;
  running_proxy proxy(dir);
  auto run = [&](std::vector<std::string> verb) {
    verb.insert(verb.begin(), {"--as", "dana"});
    return run_banyan(proxy.args(verb), dir);
  };
  const auto added = run({"route", "add", "product-detail", "--path", "/api/products/{id}", "--method", "GET", "--method",
                          "head", "--service", "catalog", "--url", "http://127.0.0.1:8082", "--ignore", "$.generated_at",
                          "--version-field", "updated_at", "--reason", "watch the catalog"});
  INFO(added.out << added.err);
  CHECK(added.code == 0);
  CHECK(added.out == "route product-detail added: shadow, GET,HEAD /api/products/{id} → catalog\n");
  auto live = [&] {
    const auto r = run({"--output", "json", "routes"});
    const auto doc = boost::json::parse(r.out);
    for (const auto& v : doc.at("routes").as_array())
      if (v.at("id").as_string() == "product-detail") return v.as_object();
    return boost::json::object{};
  };
  auto route = live();
  REQUIRE_FALSE(route.empty());
  CHECK(route.at("compare").at("ignore").at(0).as_string() == "$.generated_at");
  CHECK(route.at("compare").at("version").as_string() == "updated_at");

  // Shadow and compare settings change on their own; the rest stays.
  const auto edited = run({"route", "edit", "product-detail", "--sample", "25", "--consistent", "true", "--canary-key",
                           "header:X-User-Id", "--ignore", "$.generated_at", "--ignore", "$.request_id"});
  INFO(edited.out << edited.err);
  CHECK(edited.code == 0);
  route = live();
  CHECK(route.at("shadow").at("sample").as_int64() == 25);
  CHECK(route.at("shadow").at("consistent").as_bool());
  CHECK(route.at("canary_key").at("header").as_string() == "X-User-Id");
  CHECK(route.at("compare").at("ignore").as_array().size() == 2);
  CHECK(route.at("compare").at("version").as_string() == "updated_at");
  CHECK(route.at("match").at("path").as_string() == "/api/products/{id}");

  // Mistakes are refused in words, exit 2, and change nothing.
  const auto again = run({"route", "add", "product-detail", "--path", "/x", "--service", "catalog"});
  CHECK(again.code == 2);
  CHECK(again.err == "banyan: route product-detail: already exists (banyan route edit changes it)\n");
  const auto unknown = run({"route", "edit", "nope", "--sample", "10"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("no such route") != std::string::npos);
  const auto no_url = run({"route", "add", "x", "--path", "/y", "--service", "other"});
  CHECK(no_url.code == 2);
  CHECK(no_url.err.find("service 'other' is not in the routing: give its --url") != std::string::npos);
  const auto bad_key = run({"route", "add", "w", "--path", "/w", "--service", "catalog", "--canary-key", "bogus"});
  CHECK(bad_key.code == 2);
  const auto bad_path = run({"route", "add", "v", "--path", "no-slash", "--service", "catalog"});
  CHECK(bad_path.code == 2);
  CHECK(bad_path.err.find("the proxy answered 422") != std::string::npos);
  const auto canary = run({"route", "edit", "product-detail", "--mode", "canary"});
  CHECK(canary.code == 2);
  CHECK(canary.err.find("a canary needs its share") != std::string::npos);
  // The same rules as the admin API and plans, in their words: a share has at most two decimals.
  const auto fine_share = run({"route", "edit", "product-detail", "--mode", "canary", "--percent", "12.345"});
  CHECK(fine_share.code == 2);
  CHECK(fine_share.err ==
        "banyan: route product-detail: percent must be a number from 0 to 100 with at most two decimals\n");
  const auto writes = run({"route", "edit", "product-detail", "--writes", "sometimes"});
  CHECK(writes.code == 2);
  CHECK(writes.err == "banyan: route product-detail: writes must be \"skip\" or \"dry-run\"\n");
  const auto share = run({"route", "edit", "product-detail", "--mode", "canary", "--percent", "12.25"});
  CHECK(share.code == 0);
  CHECK(live().at("percent").as_double() == 12.25);

  const auto removed = run({"route", "remove", "product-detail", "--reason", "done"});
  CHECK(removed.code == 0);
  CHECK(live().empty());
  // Every change in the audit log with who made it and why.
  const auto audit = run({"--output", "json", "audit"});
  const auto entries = boost::json::parse(audit.out).at("entries").as_array();
  int by_dana = 0;
  for (const auto& e : entries)
    if (e.at("operator").as_string() == "dana") ++by_dana;
  CHECK(by_dana == 4);
  CHECK(entries.back().at("reason").as_string() == "done");
}

TEST_CASE("banyan routes says when a service's share goes to the monolith, and the proxy logs why", "[cli]") {
  temp_dir dir;
  // A service nothing answers for: its health checks fail at once.
  std::ofstream(dir.file("proxy.yaml")) << R"(monolith: http://127.0.0.1:1
health_checks: {path: /healthz, interval: 100ms, timeout: 200ms, unhealthy_after: 1}
services: {catalog: "http://127.0.0.1:1"}
routes:
  - id: product
    match: {methods: [GET], path: "/api/products/{id}"}
    service: catalog
    mode: canary
    percent: 30
)";
  running_proxy proxy(dir, {"--config", dir.file("proxy.yaml")});
  run_result routes;
  REQUIRE(eventually([&] {
    routes = run_banyan(proxy.args({"routes"}), dir);
    return routes.out.find("! product: service unhealthy") != std::string::npos;
  }));
  CHECK(routes.out.find("the monolith serves its 30% until it recovers") != std::string::npos);
  const auto json = boost::json::parse(run_banyan(proxy.args({"--output", "json", "routes"}), dir).out);
  const auto& r = json.at("routes").at(0);
  CHECK(r.at("share").as_string() == "30%");
  CHECK(r.at("served_share").as_string() == "0%");
  CHECK(r.at("not_served").as_string() == "service unhealthy");
  // plan status says it under the route, where the gates would otherwise only wait for traffic.
  std::ofstream(dir.file("plan.yaml")) << R"(plan: unhealthy
services: {catalog: "http://127.0.0.1:1"}
routes:
  - id: product
    match: {methods: [GET], path: "/api/products/{id}"}
    service: catalog
stages:
  - name: canary
    routes: {product: {mode: canary, percent: 30}}
    gates: {no_traffic: pass}
)";
  REQUIRE(run_banyan(proxy.args({"plan", "apply", dir.file("plan.yaml"), "--reason", "t"}), dir).code == 0);
  run_result status;
  REQUIRE(eventually([&] {
    status = run_banyan(proxy.args({"plan", "status"}), dir);
    return status.out.find("! service unhealthy: the monolith serves this route's share") != std::string::npos;
  }));
  // Not silent in the proxy either.
  std::ifstream log(dir.file("proxy.log"));
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("service unhealthy: its canary and service routes are served by the monolith") != std::string::npos);
}

TEST_CASE("banyan: exit 3 when the proxy cannot be reached, 2 for a bad or missing token", "[cli]") {
  temp_dir dir;
  std::ofstream(dir.file("token")) << "0123456789abcdef0123456789abcdef\n";
  auto down = run_banyan({"--admin", "http://127.0.0.1:1", "--token-file", dir.file("token"), "routes"}, dir);
  CHECK(down.code == 3);
  CHECK(down.err.find("cannot reach the proxy's admin API") != std::string::npos);
  CHECK(run_banyan({"--token-file", dir.file("missing"), "routes"}, dir).code == 2);

  running_proxy proxy(dir);
  auto wrong = run_banyan({"--admin", proxy.admin, "--token-file", dir.file("token"), "routes"}, dir);
  CHECK(wrong.code == 2);
  CHECK(wrong.err.find("401") != std::string::npos);
}

TEST_CASE("banyan plan apply and rollback: stages in force, idempotent, refused for another plan", "[cli]") {
  temp_dir dir;
  running_proxy proxy(dir);
  const std::string reads = std::string(BANYAN_SOURCE_DIR) + "/migrations/catalog-reads.yaml";
  const std::string writes = std::string(BANYAN_SOURCE_DIR) + "/migrations/catalog-writes.yaml";
  auto mode_of = [&](const std::string& id) {
    auto routes = boost::json::parse(run_banyan(proxy.args({"--output", "json", "routes"}), dir).out);
    for (const auto& r : routes.at("routes").as_array())
      if (r.at("id").as_string() == id) return std::string(r.at("mode").as_string()) + " " + std::string(r.at("share").as_string());
    return std::string("absent");
  };

  // Global options work after the verb too.
  auto apply = run_banyan({"plan", "apply", reads, "--reason", "start", "--admin", proxy.admin, "--token-file",
                           dir.file("state/admin.token")},
                          dir);
  INFO(apply.err);
  CHECK(apply.code == 0);
  CHECK(apply.out == "plan catalog-reads: now at stage shadow\n");
  CHECK(mode_of("product-detail") == "shadow 0% (mirrored)");
  CHECK(run_banyan(proxy.args({"plan", "apply", reads}), dir).out ==
        "plan catalog-reads is already at stage shadow: nothing changed\n");

  CHECK(run_banyan(proxy.args({"plan", "apply", reads, "--stage", "canary-50"}), dir).code == 0);
  CHECK(mode_of("product-list") == "canary 50%");

  auto refused = run_banyan(proxy.args({"plan", "apply", writes}), dir);
  CHECK(refused.code == 1);
  CHECK(refused.err.find("plan 'catalog-reads' is in progress at stage 'canary-50'") != std::string::npos);
  CHECK(mode_of("product-create") == "absent");

  auto back = run_banyan(proxy.args({"plan", "rollback", "--reason", "error spike"}), dir);
  CHECK(back.code == 0);
  CHECK(back.out == "plan catalog-reads: rolled back to stage canary-5\n");
  CHECK(mode_of("product-list") == "canary 5%");
  CHECK(run_banyan(proxy.args({"plan", "rollback", "--to", "shadow"}), dir).code == 0);
  CHECK(mode_of("product-detail") == "shadow 0% (mirrored)");
  CHECK(run_banyan(proxy.args({"plan", "rollback"}), dir).code == 2);           // already at the first stage
  CHECK(run_banyan(proxy.args({"plan", "rollback", "--to", "cut-over"}), dir).code == 2);  // not before

  CHECK(run_banyan(proxy.args({"plan", "apply", writes, "--force", "--reason", "switch"}), dir).code == 0);
  CHECK(mode_of("product-create") == "shadow 0% (mirrored)");
  CHECK(mode_of("product-list") == "shadow 0% (mirrored)");  // another plan's routes stay as they were

  auto audit = boost::json::parse(run_banyan(proxy.args({"--output", "json", "audit"}), dir).out).at("entries").as_array();
  std::vector<std::string> actions;
  for (const auto& e : audit) actions.emplace_back(e.at("action").as_string());
  CHECK(actions == std::vector<std::string>{"routes.bootstrap", "plan.apply", "plan.apply", "plan.rollback",
                                            "plan.rollback", "plan.apply.forced"});
}
