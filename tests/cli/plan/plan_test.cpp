#include "banyan/plan/plan.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace banyan;

namespace {

const std::string good = R"(plan: catalog-reads
services:
  catalog: {url: "http://127.0.0.1:8082", health: /healthz}
routes:
  - id: list
    match: {methods: [GET], path: /api/products}
    service: catalog
    compare: {ignore: [$.generated_at]}
  - id: detail
    match: {methods: [GET], path: "/api/products/{id}"}
    service: catalog
stages:
  - name: shadow
    routes: {list: shadow, detail: shadow}
    gates: {min_requests: 100, min_duration: 10m, parity: 99.5%, no_traffic: wait}
  - name: canary
    routes:
      list: {mode: canary, percent: 10}
      detail: {mode: canary, percent: 10}
    gates: {error_rate: 1%, p99_ratio: 1.5}
  - name: cut-over
    routes: {list: service, detail: service}
rollback: {on_breach: [error_rate], to: shadow}
)";

// The diagnostics for a plan text, one per line.
std::string check(const std::string& text) {
  plan::plan p;
  diagnostics d;
  plan::parse_plan(text, "plan.yaml", p, d);
  return d.to_string();
}

// `good` with one line replaced.
std::string with(const std::string& from, const std::string& to) {
  std::string s = good;
  const auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  return s.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("a good plan loads, with the routing of each stage", "[plan]") {
  plan::plan p;
  diagnostics d;
  REQUIRE(plan::parse_plan(good, "plan.yaml", p, d));
  CHECK(d.items().empty());
  CHECK(p.name == "catalog-reads");
  REQUIRE(p.stages.size() == 3);
  CHECK(p.stages[1].gate.error_rate_percent == 1.0);
  CHECK(p.stages[0].gate.min_duration == std::chrono::minutes(10));
  CHECK(p.rollback.to == "shadow");
  const auto canary = p.routes_at(p.stages[1]);
  REQUIRE(canary.size() == 2);
  CHECK(canary[0].mode == proxy::route_mode::canary);
  CHECK(canary[0].percent_bp == 1000);
  CHECK(p.routes_at(p.stages[2])[1].mode == proxy::route_mode::service);
  CHECK(p.routes[0].route.shadow.compare.ignore == std::vector<std::string>{"$.generated_at"});
}

TEST_CASE("plan mistakes are reported at their line and column", "[plan]") {
  CHECK(check("plan: x\nservices: [oops\n").rfind("plan.yaml:3:1: error: YAML syntax", 0) == 0);
  CHECK(check(with("rollback:", "rolback:")) ==
        "plan.yaml:23:1: error: unknown key 'rolback' in the plan (did you mean 'rollback'?)\n");
  CHECK(check(with("    service: catalog\n    compare", "    service: catalgo\n    compare")) ==
        "plan.yaml:7:14: error: route 'list' names unknown service 'catalgo' (did you mean 'catalog'?)\n");
  CHECK(check(with("\"/api/products/{id}\"", "/api/products")) ==
        "plan.yaml:9:5: error: route 'detail' ties with route 'list' on /api/products (same pattern, overlapping methods)\n");
  CHECK(check(with("percent: 10}\n      detail", "percent: 101}\n      detail")) ==
        "plan.yaml:18:37: error: percent must be a number from 0 to 100 (at most two decimals), got '101'\n");
  CHECK(check(with("{list: service, detail: service}", "{list: {mode: canary, percent: 5}, detail: service}")) ==
        "plan.yaml:22:14: error: route 'list' goes down from 10% in stage 'canary' to 5% in stage 'cut-over' "
        "(stages only move users to the service; rollback moves them back)\n");
  CHECK(check(with("parity: 99.5%", "parity: 101%")) ==
        "plan.yaml:15:59: error: parity of 101% can never be met: a percentage is 0 to 100\n");
  CHECK(check(with("{list: shadow, detail: shadow}", "{list: monolith, detail: monolith}"))
            .starts_with("plan.yaml:15:12: error: stage 'shadow': the parity gate can never pass: no route is in shadow "
                         "mode in this stage\n"));
  CHECK(check(with("to: shadow", "to: shadwo")) ==
        "plan.yaml:23:41: error: rollback.to names unknown stage 'shadwo' (did you mean 'shadow'?)\n");
  CHECK(check(with("list: {mode: canary, percent: 10}", "list: {mode: canary}")) ==
        "plan.yaml:18:13: error: route 'list' is canary in stage 'canary' but has no percent\n");
  CHECK(check(with("{list: shadow, detail: shadow}", "{list: shadow, detial: shadow}")) ==
        "plan.yaml:14:28: error: stage 'shadow' sets unknown route 'detial' (did you mean 'detail'?)\n");
  CHECK(check(with("no_traffic: wait", "no_traffic: skip")) ==
        "plan.yaml:15:78: error: no_traffic must be wait, pass or fail, got 'skip'\n");
  CHECK(check(with("http://127.0.0.1:8082", "ftp://127.0.0.1")) ==
        "plan.yaml:3:18: error: service 'catalog': upstream URL must be http://HOST:PORT, got 'ftp://127.0.0.1'\n");
  CHECK(check(with("error_rate: 1%, p99_ratio: 1.5", "error_rate: 1%, p99_ratio: 0")) ==
        "plan.yaml:20:40: error: p99_ratio of 0 can never be met: latency is never below zero\n");
}

TEST_CASE("skipping shadow on the way to canary is a warning, not an error", "[plan]") {
  plan::plan p;
  diagnostics d;
  const auto text = with("{list: shadow, detail: shadow}\n    gates: {min_requests: 100, min_duration: 10m, parity: 99.5%, no_traffic: wait}",
                         "{detail: shadow}\n    gates: {min_requests: 100, parity: 99.5%}");
  CHECK(plan::parse_plan(text, "plan.yaml", p, d));
  CHECK(d.to_string() ==
        "plan.yaml:18:7: warning: route 'list' reaches canary in stage 'canary' without a shadow stage before it: "
        "nothing has compared its answers yet\n");
}

TEST_CASE("a plan that lacks its parts says what is missing", "[plan]") {
  const auto out = check("plan: empty\n");
  CHECK(out.find("the plan needs 'services'") != std::string::npos);
  CHECK(out.find("the plan needs 'routes'") != std::string::npos);
  CHECK(out.find("the plan needs 'stages'") != std::string::npos);
}

TEST_CASE("shadow settings of a route: loaded, and each mistake at its line and column", "[plan]") {
  plan::plan p;
  diagnostics d;
  REQUIRE(plan::parse_plan(with("    compare: {ignore: [$.generated_at]}",
                                "    writes: dry-run\n"
                                "    shadow: {sample: 12.5%, consistent: true, reverse: true, max_compare_bytes: 64KiB}\n"
                                "    compare:\n"
                                "      ignore: [$.generated_at, \"$..request_id\"]\n"
                                "      headers: [Cache-Control]\n"
                                "      ignore_headers: [Content-Type]\n"
                                "      tolerance: 0.01\n"
                                "      unordered: {$.items: id}\n"
                                "      redact: [$..email]\n"
                                "      redact_headers: [X-Api-Key]"),
                           "plan.yaml", p, d));
  const auto& s = p.routes[0].route.shadow;
  CHECK(s.dry_run_writes);
  CHECK(s.sample_bp == 1250);
  CHECK(s.sample_by_key);
  CHECK(s.reverse);
  CHECK(s.max_compare_bytes == 64 * 1024);
  CHECK(s.compare.ignore == std::vector<std::string>{"$.generated_at", "$..request_id"});
  CHECK(s.compare.tolerance == 0.01);
  CHECK(s.compare.unordered == std::vector<std::pair<std::string, std::string>>{{"$.items", "id"}});
  CHECK(s.compare.redact_headers == std::vector<std::string>{"X-Api-Key"});
  // The stages' routing carries them to the proxy.
  CHECK(p.routes_at(p.stages[0])[0].shadow == s);

  CHECK(check(with("ignore: [$.generated_at]", "ignore: [generated_at]")) ==
        "plan.yaml:8:24: error: compare.ignore: a JSON path starts with '$', such as $.generated_at or $..request_id\n");
  CHECK(check(with("ignore: [$.generated_at]", "ignore: [\"$.items[abc]\"]")) ==
        "plan.yaml:8:24: error: compare.ignore: '[abc]' is not a JSON path step: use [*], [N] or ['name']\n");
  CHECK(check(with("compare: {ignore: [$.generated_at]}", "compare: {ignor: [$.generated_at]}")) ==
        "plan.yaml:8:15: error: unknown key 'ignor' in compare (did you mean 'ignore'?)\n");
  CHECK(check(with("compare: {ignore: [$.generated_at]}", "shadow: {sample: 150%}")) ==
        "plan.yaml:8:22: error: sample must be a percent from 0 to 100 (at most two decimals), got '150%'\n");
  CHECK(check(with("compare: {ignore: [$.generated_at]}", "writes: maybe")) ==
        "plan.yaml:8:13: error: writes must be skip or dry-run, got 'maybe'\n");
  CHECK(check(with("compare: {ignore: [$.generated_at]}", "compare: {tolerance: -1}")) ==
        "plan.yaml:8:26: error: tolerance must be a number of at least 0, got '-1'\n");
  CHECK(check(with("compare: {ignore: [$.generated_at]}", "shadow: {reverse: yes}")) ==
        "plan.yaml:8:23: error: reverse must be true or false\n");
}

TEST_CASE("plans: sync_lag gates in both spellings, and their mistakes at line:column", "[plan][sync]") {
  const std::string head = "plan: p\nservices: {c: http://127.0.0.1:1}\nroutes:\n  - id: r\n    match: {path: /x}\n    service: c\n"
                           "stages:\n  - name: s\n    routes: {r: shadow}\n    gates:\n";
  plan::plan p;
  diagnostics d;
  REQUIRE(plan::parse_plan(head + "      sync_lag: 5s\n", "p.yaml", p, d));
  REQUIRE(p.stages[0].gate.sync_lag);
  CHECK(p.stages[0].gate.sync_lag->age == std::chrono::seconds(5));
  CHECK_FALSE(p.stages[0].gate.sync_lag->events);
  plan::plan p2, p3, p4;
  REQUIRE(plan::parse_plan(head + "      sync_lag: {events: 100}\n", "p.yaml", p2, d));
  CHECK(p2.stages[0].gate.sync_lag->events == 100);
  diagnostics bad;
  CHECK_FALSE(plan::parse_plan(head + "      sync_lag: {events: -1, secs: 2s}\n", "p.yaml", p3, bad));
  const auto text = bad.to_string();
  CHECK(text.find("p.yaml:11:") != std::string::npos);
  CHECK(text.find("sync_lag.events must be a whole number of events, got '-1'") != std::string::npos);
  CHECK(text.find("secs") != std::string::npos);
  diagnostics bad2;
  CHECK_FALSE(plan::parse_plan(head + "      sync_lag: soon\n", "p.yaml", p4, bad2));
  CHECK(bad2.to_string().find("p.yaml:11:17: error: sync_lag must be a duration") != std::string::npos);
}

TEST_CASE("plans: ${VAR} and ${VAR:-default} take the environment, unset ones are errors where they stand", "[plan][env]") {
  ::setenv("BANYAN_TEST_URL", "http://127.0.0.1:4242", 1);
  ::unsetenv("BANYAN_TEST_UNSET");
  std::string text = "a: ${BANYAN_TEST_URL}\nb: ${BANYAN_TEST_UNSET:-http://x:1}\nc: $$5\n";
  diagnostics d;
  REQUIRE(plan::expand_environment(text, "p.yaml", d));
  CHECK(text == "a: http://127.0.0.1:4242\nb: http://x:1\nc: $5\n");
  std::string missing = "x: 1\ny:  ${BANYAN_TEST_UNSET}\nz: ${1BAD}\nw: ${OPEN\n";
  diagnostics bad;
  CHECK_FALSE(plan::expand_environment(missing, "p.yaml", bad));
  const auto out = bad.to_string();
  CHECK(out.find("p.yaml:2:5: error: environment variable BANYAN_TEST_UNSET is not set") != std::string::npos);
  CHECK(out.find("p.yaml:3:4: error: '${1BAD}'") != std::string::npos);
  CHECK(out.find("p.yaml:4:4: error: unterminated ${") != std::string::npos);
}
