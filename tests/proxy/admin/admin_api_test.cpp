#include "banyan/proxy/admin_api.hpp"
#include "banyan/shadow/recorder.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include "banyan/platform/clock.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace banyan;
using namespace banyan::proxy;

namespace {

const std::string token = "0123456789abcdef0123456789abcdef";

struct admin_fixture {
  test::temp_dir dir;
  sqlite_state_store store{dir.file("state")};
  routing_state routing;
  admin_api api{{routing, store, token, "http://127.0.0.1:1", [] { return std::string("m 1\n"); }}};

  admin_fixture() {
    std::vector<route_error> errors;
    REQUIRE(routing.install({}, {}, "http://127.0.0.1:1", errors));
  }

  http::response call(std::string method, std::string target, std::string body = {}, std::string bearer = token) {
    http::request req;
    req.method = std::move(method);
    req.target = std::move(target);
    http::parse_target(req.target, req.path, req.query);
    if (!bearer.empty()) req.headers.add("Authorization", "Bearer " + bearer);
    req.headers.add("X-Banyan-Operator", "alice");
    if (!body.empty()) req.headers.add("Content-Type", "application/json");
    req.body = std::move(body);
    return api.handle(req);
  }
  boost::json::value json(std::string method, std::string target, std::string body = {}) {
    return boost::json::parse(call(std::move(method), std::move(target), std::move(body)).body);
  }
};

const std::string two_routes = R"({"reason":"extract catalog reads","services":{"catalog":"http://127.0.0.1:2"},
  "routes":[{"id":"products","match":{"methods":["GET"],"path":"/api/products"},"service":"catalog","mode":"shadow"},
            {"id":"product","match":{"methods":["GET"],"path":"/api/products/{id}"},"service":"catalog",
             "mode":"canary","percent":5,"canary_key":{"header":"X-User-Id"}}]})";

}  // namespace

TEST_CASE("admin auth: health is open, everything else needs the bearer token", "[admin]") {
  admin_fixture f;
  CHECK(f.call("GET", "/healthz", "", "").status == 200);
  CHECK(f.call("GET", "/readyz", "", "").status == 200);
  const auto metrics = f.call("GET", "/metrics", "", "").body;
  CHECK(metrics.starts_with("m 1\n"));  // the data plane's, then the barrier's own
  CHECK(metrics.find("banyan_cutover_active 0") != std::string::npos);
  auto none = f.call("GET", "/api/v1/routes", "", "");
  CHECK(none.status == 401);
  CHECK(*none.headers.find("WWW-Authenticate") == "Bearer realm=\"banyan-admin\"");
  CHECK(f.call("GET", "/api/v1/routes", "", "wrong-token-wrong-token-wrong-tok").status == 401);
  CHECK(f.call("GET", "/api/v1/routes", "", token.substr(0, 31)).status == 401);
  CHECK(f.call("GET", "/api/v1/routes").status == 200);
  // State changes only through non-GET requests.
  CHECK(f.call("GET", "/api/v1/routes/products/mode").status == 405);
  // A fleet's acks have nowhere to go on one proxy, and need the token like everything else.
  CHECK(f.call("POST", "/api/v1/fleet/acks", R"({"hold":"a@1","instance":"a"})", "").status == 401);
  const auto not_fleet = f.call("POST", "/api/v1/fleet/acks", R"({"hold":"a@1","instance":"a"})");
  CHECK(not_fleet.status == 404);
  CHECK(not_fleet.body.find("not_a_fleet") != std::string::npos);
}

TEST_CASE("replacing routes validates, persists, audits and goes live", "[admin]") {
  admin_fixture f;
  auto res = f.call("PUT", "/api/v1/routes", two_routes);
  REQUIRE(res.status == 200);
  CHECK(boost::json::parse(res.body).at("changed").as_bool());
  auto live = f.routing.load();
  REQUIRE(live->table->routes().size() == 2);
  CHECK(live->table->match("GET", "/api/products/7")->percent_bp == 500);

  // The same routes again change nothing and write no audit entry.
  CHECK_FALSE(f.json("PUT", "/api/v1/routes", two_routes).at("changed").as_bool());

  auto audit = f.json("GET", "/api/v1/audit");
  REQUIRE(audit.at("entries").as_array().size() == 1);
  const auto& e = audit.at("entries").at(0);
  CHECK(e.at("operator").as_string() == "alice");
  CHECK(e.at("action").as_string() == "routes.replace");
  CHECK(e.at("reason").as_string() == "extract catalog reads");
  CHECK(e.at("token").as_string().starts_with("token:"));
  CHECK(e.at("token").as_string().find(token) == std::string::npos);
  CHECK(e.at("after").at("routes").as_array().size() == 2);

  // A new store on the same directory loads what was saved (a restart resumes).
  sqlite_state_store reopened(f.dir.file("state"));
  auto saved = reopened.load();
  REQUIRE(saved);
  CHECK(saved->routes.size() == 2);
  CHECK(saved->services.at("catalog") == "http://127.0.0.1:2");
}

TEST_CASE("invalid route sets are refused whole with every problem", "[admin]") {
  admin_fixture f;
  auto res = f.call("PUT", "/api/v1/routes",
                    R"({"routes":[{"id":"a","match":{"path":"/x"},"service":"nope","mode":"service"},
                                  {"id":"b","match":{"path":"/y"},"mode":"sideways","percent":150}]})");
  CHECK(res.status == 422);
  const auto problems = boost::json::parse(res.body).at("error").at("problems").as_array();
  CHECK(problems.size() == 2);
  CHECK(f.routing.load()->table->routes().empty());
  CHECK(f.call("PUT", "/api/v1/routes", R"({"routes":[{"id":"a","match":{"path":"/x"},"service":"nope","mode":"service"}]})")
            .status == 422);
  CHECK(f.call("PUT", "/api/v1/routes", "{not json").status == 400);
  CHECK(f.json("GET", "/api/v1/audit").at("entries").as_array().empty());
}

TEST_CASE("setting one route's mode is audited with before and after", "[admin]") {
  admin_fixture f;
  REQUIRE(f.call("PUT", "/api/v1/routes", two_routes).status == 200);
  auto res = f.call("POST", "/api/v1/routes/product/mode", R"({"mode":"canary","percent":25,"reason":"more users"})");
  REQUIRE(res.status == 200);
  CHECK(f.routing.load()->table->find("product")->percent_bp == 2500);
  CHECK(f.call("POST", "/api/v1/routes/product/mode", R"({"mode":"service"})").status == 200);
  CHECK(f.routing.load()->table->find("product")->mode == route_mode::service);
  CHECK(f.call("POST", "/api/v1/routes/missing/mode", R"({"mode":"service"})").status == 404);
  CHECK(f.call("POST", "/api/v1/routes/product/mode", R"({"mode":"everywhere"})").status == 422);
  CHECK(f.call("POST", "/api/v1/routes/product/mode", R"({"mode":"canary","percent":-3})").status == 422);
  // A canary needs its share, as in plans (else it would keep the route's old one).
  const auto no_share = f.call("POST", "/api/v1/routes/product/mode", R"({"mode":"canary"})");
  CHECK(no_share.status == 422);
  CHECK(no_share.body.find("a canary needs its share") != std::string::npos);
  auto contradictory = f.call("POST", "/api/v1/routes/product/mode", R"({"mode":"shadow","percent":5})");
  CHECK(contradictory.status == 422);
  CHECK(contradictory.body.find("percent applies to canary only") != std::string::npos);
  CHECK(f.routing.load()->table->find("product")->mode == route_mode::service);  // unchanged

  auto entries = f.json("GET", "/api/v1/audit?after=1").at("entries").as_array();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("action").as_string() == "route.mode");
  CHECK(entries[0].at("target").as_string() == "product");
  CHECK(entries[0].at("reason").as_string() == "more users");
  CHECK(f.call("GET", "/api/v1/audit?limit=0").status == 400);
}

TEST_CASE("the admin token file is created once, private", "[admin]") {
  test::temp_dir dir;
  const auto path = dir.file("admin.token");
  const auto first = load_or_create_token(path);
  CHECK(first.size() == 64);
  CHECK(load_or_create_token(path) == first);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(constant_time_equals("abc", "abc"));
  CHECK_FALSE(constant_time_equals("abc", "abd"));
  CHECK_FALSE(constant_time_equals("abc", "abcd"));
}

TEST_CASE("readiness reports a state store that cannot be written", "[admin]") {
  admin_fixture f;
  CHECK(f.call("GET", "/readyz", "", "").status == 200);
  // Another writer holding the database's write lock stands in for a store that cannot be written.
  banyan::sqlite::connection other(f.dir.file("state") + "/banyan.db", {false, 50, true});
  other.exec("BEGIN IMMEDIATE");
  auto res = f.call("GET", "/readyz", "", "");
  CHECK(res.status == 503);
  CHECK(res.body.find("state_store_unavailable") != std::string::npos);
  // A change is refused whole, and nothing changes.
  CHECK(f.call("PUT", "/api/v1/routes", two_routes).status == 503);
  CHECK(f.routing.load()->table->routes().empty());
  other.exec("ROLLBACK");
  CHECK(f.call("GET", "/readyz", "", "").status == 200);
}

TEST_CASE("plan progress: applied with its routing, idempotent, another plan only with force", "[admin]") {
  admin_fixture f;
  CHECK(f.call("GET", "/api/v1/plan").status == 404);
  auto body = [](std::string name, std::string document, std::string stage, std::string mode, bool force = false) {
    return R"({"name":")" + name + R"(","document":")" + document + R"(","stage":")" + stage +
           R"(","reason":"go","force":)" + (force ? "true" : "false") +
           R"(,"services":{"catalog":"http://127.0.0.1:2"},"routes":[{"id":"p","match":{"path":"/p","methods":["GET"]},"service":"catalog","mode":")" +
           mode + R"("}]})";
  };
  auto first = f.call("PUT", "/api/v1/plan", body("reads", "v1", "shadow", "shadow"));
  REQUIRE(first.status == 200);
  CHECK(f.routing.load()->table->find("p")->mode == route_mode::shadow);
  auto progress = f.json("GET", "/api/v1/plan");
  CHECK(progress.at("name").as_string() == "reads");
  CHECK(progress.at("stage").as_string() == "shadow");
  const auto entered = progress.at("stage_entered_at");

  // The same plan at the same stage again: nothing changes, nothing is audited.
  CHECK_FALSE(f.json("PUT", "/api/v1/plan", body("reads", "v1", "shadow", "shadow")).at("changed").as_bool());
  CHECK(f.json("GET", "/api/v1/plan").at("stage_entered_at") == entered);

  // The next stage of the same plan.
  REQUIRE(f.call("PUT", "/api/v1/plan", body("reads", "v1", "canary", "service")).status == 200);
  CHECK(f.json("GET", "/api/v1/plan").at("stage").as_string() == "canary");

  // Another plan, or this plan changed, is refused without force.
  auto other = f.call("PUT", "/api/v1/plan", body("writes", "w1", "shadow", "monolith"));
  CHECK(other.status == 409);
  CHECK(other.body.find("plan 'reads' is in progress at stage 'canary'") != std::string::npos);
  CHECK(f.call("PUT", "/api/v1/plan", body("reads", "v2", "shadow", "shadow")).status == 409);
  CHECK(f.routing.load()->table->find("p")->mode == route_mode::service);

  REQUIRE(f.call("PUT", "/api/v1/plan", body("writes", "w1", "shadow", "monolith", true)).status == 200);
  CHECK(f.json("GET", "/api/v1/plan").at("name").as_string() == "writes");
  const auto entries = f.json("GET", "/api/v1/audit").at("entries").as_array();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].at("action").as_string() == "plan.apply");
  CHECK(entries[0].at("target").as_string() == "reads@shadow");
  CHECK(entries[2].at("action").as_string() == "plan.apply.forced");
  CHECK(f.call("PUT", "/api/v1/plan", R"({"name":"x"})").status == 422);
}

TEST_CASE("GET routes says whether each service can take its share now", "[admin]") {
  admin_fixture f;
  route r;
  r.id = "p";
  r.path = "/p";
  r.service = "catalog";
  r.mode = route_mode::canary;
  r.percent_bp = 3000;
  std::vector<route_error> errors;
  REQUIRE(f.routing.install({r}, {{"catalog", "http://127.0.0.1:2"}}, "http://127.0.0.1:1", errors));
  auto health = f.json("GET", "/api/v1/routes").at("service_health").at("catalog");
  CHECK(health.at("healthy").as_bool());
  CHECK(health.at("circuit").as_string() == "closed");
  auto& service = *f.routing.load()->service_of[0];
  service.healthy = false;
  for (int i = 0; i < 5; ++i) service.breaker.on_failure(banyan::steady_ms());
  health = f.json("GET", "/api/v1/routes").at("service_health").at("catalog");
  CHECK_FALSE(health.at("healthy").as_bool());
  CHECK(health.at("circuit").as_string() == "open");
  // Health is not routing: the audit's before and after do not carry it.
  CHECK_FALSE(f.json("GET", "/api/v1/routes").at("routes").at(0).as_object().contains("service_health"));
}

TEST_CASE("completing a plan is audited once, moving to another stage clears it", "[admin]") {
  admin_fixture f;
  auto body = [](std::string stage, std::string mode) {
    return R"({"name":"reads","document":"v1","stage":")" + stage +
           R"(","reason":"r","services":{"catalog":"http://127.0.0.1:2"},"routes":[{"id":"p","match":{"path":"/p","methods":["GET"]},"service":"catalog","mode":")" +
           mode + R"("}]})";
  };
  REQUIRE(f.call("PUT", "/api/v1/plan", body("service", "service")).status == 200);
  CHECK(f.json("GET", "/api/v1/plan").at("completed_at").as_string().empty());
  CHECK(f.call("POST", "/api/v1/plan/complete", R"({"name":"reads","stage":"shadow"})").status == 409);  // not there
  const auto done = f.json("POST", "/api/v1/plan/complete", R"({"name":"reads","stage":"service","reason":"gates pass"})");
  CHECK(done.at("changed").as_bool());
  const auto completed_at = f.json("GET", "/api/v1/plan").at("completed_at").as_string();
  CHECK_FALSE(completed_at.empty());
  // Again (a watcher looking once more): nothing new in the audit log.
  CHECK_FALSE(f.json("POST", "/api/v1/plan/complete", R"({"name":"reads","stage":"service"})").at("changed").as_bool());
  auto entries = f.json("GET", "/api/v1/audit").at("entries").as_array();
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].at("action").as_string() == "plan.complete");
  CHECK(entries[1].at("target").as_string() == "reads@service");
  CHECK(entries[1].at("reason").as_string() == "gates pass");
  CHECK(entries[1].at("before") == entries[1].at("after"));  // the routing did not change
  // A rollback leaves the plan incomplete again.
  REQUIRE(f.call("PUT", "/api/v1/plan", body("shadow", "shadow")).status == 200);
  CHECK(f.json("GET", "/api/v1/plan").at("completed_at").as_string().empty());
  CHECK(f.call("POST", "/api/v1/plan/complete", R"({"stage":"x"})").status == 422);
}

TEST_CASE("a route's shadow settings go through the API and back, and bad ones are refused", "[admin]") {
  admin_fixture f;
  const std::string body = R"({"reason":"shadow with rules","services":{"catalog":"http://127.0.0.1:2"},
    "routes":[{"id":"products","match":{"path":"/api/products"},"service":"catalog","mode":"shadow",
               "writes":"dry-run","shadow":{"sample":12.5,"consistent":true,"reverse":false,"max_compare_bytes":65536},
               "compare":{"ignore":["$..request_id"],"headers":["Cache-Control"],"ignore_headers":[],"tolerance":0.5,
                          "unordered":{"$.items":"id"},"redact":["$..email"],"redact_headers":["X-Api-Key"]}}]})";
  REQUIRE(f.call("PUT", "/api/v1/routes", body).status == 200);
  const auto live = f.json("GET", "/api/v1/routes").at("routes").at(0);
  CHECK(live.at("writes").as_string() == "dry-run");
  CHECK(live.at("shadow").at("sample").as_double() == 12.5);
  CHECK(live.at("shadow").at("consistent").as_bool());
  CHECK(live.at("compare").at("unordered").at("$.items").as_string() == "id");
  CHECK(live.at("compare").at("tolerance").as_double() == 0.5);
  const auto snap = f.routing.load();
  CHECK(snap->table->routes()[0].shadow.compare.redact == std::vector<std::string>{"$..email"});
  // The same settings survive a restart (the store keeps the route JSON).
  const auto saved = f.store.load();
  REQUIRE(saved);
  CHECK(saved->routes[0].shadow == snap->table->routes()[0].shadow);

  auto bad = f.call("PUT", "/api/v1/routes", R"({"routes":[{"id":"p","match":{"path":"/p"},"service":"catalog",
    "mode":"shadow","writes":"sometimes","shadow":{"sample":101,"colour":1},"compare":{"ignore":["name"]}}]})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find("writes must be") != std::string::npos);
  CHECK(bad.body.find("shadow.sample must be") != std::string::npos);
  CHECK(bad.body.find("unknown field 'shadow.colour'") != std::string::npos);
  auto bad_path = f.call("PUT", "/api/v1/routes", R"({"routes":[{"id":"p","match":{"path":"/p"},"service":"catalog",
    "mode":"shadow","compare":{"ignore":["name"]}}]})");
  CHECK(bad_path.status == 422);
  CHECK(bad_path.body.find("compare.ignore 'name': a JSON path starts with '$'") != std::string::npos);
}

TEST_CASE("the shadow report endpoint checks its query and needs a recorder", "[admin]") {
  admin_fixture f;
  CHECK(f.call("GET", "/api/v1/shadow/report").status == 404);  // this fixture records nothing
  shadow::shadow_recorder recorder(f.dir.file("state/banyan.db"));
  admin_api api{{f.routing, f.store, token, "http://127.0.0.1:1", {}, &recorder}};
  auto call = [&](const std::string& target) {
    http::request req;
    req.method = "GET";
    req.target = target;
    http::parse_target(req.target, req.path, req.query);
    req.headers.add("Authorization", "Bearer " + token);
    return api.handle(req);
  };
  CHECK(call("/api/v1/shadow/report?window=0").status == 400);
  CHECK(call("/api/v1/shadow/report?since_ms=yesterday").status == 400);
  const auto ok = call("/api/v1/shadow/report?window=50&min_compared=5");
  CHECK(ok.status == 200);
  CHECK(boost::json::parse(ok.body).at("window").as_int64() == 50);
}

TEST_CASE("readiness reports shadow results that cannot be saved", "[admin]") {
  admin_fixture f;
  shadow::recorder_options o;
  o.flush_interval = std::chrono::milliseconds(20);
  // Its own file here, so that locking it leaves the state store writable.
  shadow::shadow_recorder recorder(f.dir.file("shadow.db"), o);
  admin_api api{{f.routing, f.store, token, "http://127.0.0.1:1", {}, &recorder}};
  auto readyz = [&] {
    http::request req;
    req.method = "GET";
    req.target = req.path = "/readyz";
    return api.handle(req);
  };
  CHECK(readyz().status == 200);
  banyan::sqlite::connection other(f.dir.file("shadow.db"));
  other.exec("BEGIN IMMEDIATE");  // another writer holds the lock past the recorder's patience
  auto rules = std::make_shared<shadow::compare_rules>();
  shadow::shadow_exchange x;
  x.route = "r";
  x.rules = rules;
  recorder.submit(std::move(x));
  CHECK_FALSE(recorder.flush(std::chrono::milliseconds(7000)));
  const auto r = readyz();
  CHECK(r.status == 503);
  CHECK(r.body.find("shadow_store_unavailable") != std::string::npos);
  other.exec("ROLLBACK");
  REQUIRE(recorder.flush(std::chrono::seconds(10)));
  CHECK(readyz().status == 200);
}

TEST_CASE("admin auth: repeated failures from one address are limited and logged, a valid token never is", "[admin]") {
  admin_fixture f;
  auto from = [&](const std::string& address, const std::string& bearer) {
    http::request req;
    req.method = "GET";
    req.target = req.path = "/api/v1/routes";
    req.remote_address = address;
    if (!bearer.empty()) req.headers.add("Authorization", "Bearer " + bearer);
    return f.api.handle(req);
  };
  for (std::size_t i = 0; i < auth_failures::limit; ++i) CHECK(from("10.0.0.9", "wrong-token-wrong-token").status == 401);
  auto limited = from("10.0.0.9", "wrong-token-wrong-token");
  CHECK(limited.status == 429);
  CHECK(*limited.headers.find("Retry-After") == "60");
  CHECK(limited.body.find("too_many_failures") != std::string::npos);
  CHECK(from("10.0.0.9", "").status == 429);
  CHECK(from("10.0.0.9", token).status == 200);      // the operator still gets in
  CHECK(from("10.0.0.10", "nope-nope-nope-nope").status == 401);  // another address is not affected

  auth_failures counter;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < auth_failures::limit; ++i) CHECK_FALSE(counter.record("a", t0).limited);
  CHECK(counter.record("a", t0).limited);
  CHECK_FALSE(counter.record("a", t0 + auth_failures::window + std::chrono::seconds(1)).limited);  // a minute later
  int logged = 0;
  for (int i = 0; i < 100; ++i) logged += counter.record("b", t0).log;
  CHECK(logged < 20);  // past the limit, one in ten
}

TEST_CASE("the admin token file must not be readable by others", "[admin]") {
  test::temp_dir dir;
  const auto path = dir.file("admin.token");
  const auto token_text = load_or_create_token(path);
  CHECK(load_or_create_token(path) == token_text);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  CHECK_THROWS_WITH(load_or_create_token(path), Catch::Contains("readable by others (mode 0644)") && Catch::Contains("chmod 600"));
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK(load_or_create_token(path) == token_text);
}

TEST_CASE("no GET on the admin API changes state", "[admin]") {
  admin_fixture f;
  REQUIRE(f.call("PUT", "/api/v1/routes", two_routes).status == 200);
  const auto routes_before = f.call("GET", "/api/v1/routes").body;
  const auto audit_before = f.call("GET", "/api/v1/audit").body;
  for (const char* target : {"/api/v1/routes", "/api/v1/routes/product", "/api/v1/audit", "/api/v1/plan", "/api/v1/services",
                             "/api/v1/evidence", "/api/v1/shadow/report", "/healthz", "/readyz", "/metrics",
                             "/api/v1/routes/product/mode?mode=service", "/api/v1/plan?stage=x"})
    (void)f.call("GET", target);
  CHECK(f.call("GET", "/api/v1/routes").body == routes_before);
  CHECK(f.call("GET", "/api/v1/audit").body == audit_before);
  CHECK(f.call("GET", "/api/v1/routes/product/mode").status != 200);  // the change verb is not a GET
}
