#include "banyan/proxy/proxy_config.hpp"

#include <catch2/catch.hpp>

using namespace banyan::proxy;

namespace {
std::string diags_of(const std::string& yaml) {
  proxy_config c;
  banyan::diagnostics d;
  CHECK_FALSE(parse_proxy_config(yaml, "proxy.yaml", c, d));
  return d.to_string();
}
}  // namespace

TEST_CASE("a full configuration loads", "[config]") {
  const std::string yaml = R"(listen: 127.0.0.1:8080
admin:
  listen: 127.0.0.1:9901
  token_file: /tmp/token
monolith: http://127.0.0.1:8081
state_dir: /var/lib/banyan
threads: 2
limits:
  max_head_bytes: 32KiB
  max_body_bytes: 10MiB
  max_connections_per_upstream: 64
timeouts:
  header: 5s
  upstream: 1500ms
  queue: 250ms
services:
  catalog: http://127.0.0.1:8082
routes:
  - id: product
    match: {methods: [GET, HEAD], path: "/api/products/{id}"}
    service: catalog
    mode: canary
    percent: 12.5
    canary_key: {header: X-User-Id}
)";
  proxy_config c;
  banyan::diagnostics d;
  REQUIRE(parse_proxy_config(yaml, "proxy.yaml", c, d));
  CHECK(c.monolith == "http://127.0.0.1:8081");
  CHECK(c.admin_token_file == "/tmp/token");
  CHECK(c.data_plane.threads == 2);
  CHECK(c.data_plane.max_head_bytes == 32 * 1024);
  CHECK(c.data_plane.max_body_bytes == 10 * 1024 * 1024);
  CHECK(c.data_plane.header_timeout == std::chrono::seconds(5));
  CHECK(c.data_plane.upstream_timeout == std::chrono::milliseconds(1500));
  CHECK(c.data_plane.max_connections_per_upstream == 64);
  CHECK(c.data_plane.queue_timeout == std::chrono::milliseconds(250));
  REQUIRE(c.routes.size() == 1);
  CHECK(c.routes[0].mode == route_mode::canary);
  CHECK(c.routes[0].percent_bp == 1250);
  CHECK(c.routes[0].methods == std::vector<std::string>{"GET", "HEAD"});
  CHECK(c.routes[0].key.from == canary_key::source::header);
  CHECK(c.routes[0].key.name == "X-User-Id");
}

TEST_CASE("mistakes are reported at their line and column", "[config]") {
  CHECK(diags_of("monolith: http://a:1\nlisen: x\n") ==
        "proxy.yaml:2:1: error: unknown key 'lisen' in the configuration (did you mean 'listen'?)\n");
  CHECK(diags_of("monolith: [unclosed\n").find("proxy.yaml:2:1: error: YAML syntax") == 0);
  CHECK(diags_of("timeouts:\n  header: soon\n") ==
        "proxy.yaml:2:11: error: header: expected a duration such as 10s, 250ms or 2m, got 'soon'\n");
  CHECK(diags_of("threads: 0\n") == "proxy.yaml:1:10: error: threads: expected a whole number from 1 to 256, got '0'\n");
  CHECK(diags_of("limits:\n  max_connections_per_upstream: -1\n") ==
        "proxy.yaml:2:33: error: max_connections_per_upstream: expected a whole number from 0 to 1000000, got '-1'\n");
  const std::string routes = R"(services: {catalog: http://127.0.0.1:1}
routes:
  - id: a
    match: {path: /x}
    service: catalgo
    mode: servce
    percent: 101
)";
  const auto out = diags_of(routes);
  CHECK(out.find("proxy.yaml:5:14: error: route 'a' names unknown service 'catalgo' (did you mean 'catalog'?)") !=
        std::string::npos);
  CHECK(out.find("proxy.yaml:6:11: error: unknown mode 'servce' (monolith, shadow, canary or service); did you mean "
                 "'service'?") != std::string::npos);
  CHECK(out.find("proxy.yaml:7:14: error: percent must be a number from 0 to 100") != std::string::npos);
}

TEST_CASE("the circuit breaker is configured, within bounds", "[config]") {
  proxy_config c;
  banyan::diagnostics d;
  REQUIRE(parse_proxy_config("monolith: http://127.0.0.1:1\n"
                             "circuit_breaker: {consecutive_failures: 3, error_percent: 25, min_requests: 8,"
                             " window: 2s, open_for: 300ms}\n",
                             "proxy.yaml", c, d));
  CHECK(c.circuit_breaker.failure_threshold == 3);
  CHECK(c.circuit_breaker.error_rate == Approx(0.25));
  CHECK(c.circuit_breaker.min_requests == 8);
  CHECK(c.circuit_breaker.window_ms == 2000);
  CHECK(c.circuit_breaker.open_ms == 300);
  proxy_config defaults;
  REQUIRE(parse_proxy_config("monolith: http://127.0.0.1:1\n", "proxy.yaml", defaults, d));
  CHECK(defaults.circuit_breaker.failure_threshold == 5);
  CHECK(defaults.circuit_breaker.open_ms == 5000);
  CHECK(diags_of("circuit_breaker: {open_for: 1h}\n") ==
        "proxy.yaml:1:29: error: circuit_breaker.open_for must be from 10ms to 10m (then one probe is let through)\n");
  CHECK(diags_of("circuit_breaker:\n  error_percent: 0\n") ==
        "proxy.yaml:2:18: error: error_percent: expected a whole number from 1 to 100, got '0'\n");
  CHECK(diags_of("circuit_breaker: {consecutve_failures: 2}\n").find(
            "unknown key 'consecutve_failures' in circuit_breaker (did you mean 'consecutive_failures'?)") !=
        std::string::npos);
}

TEST_CASE("upstream URLs are checked where they stand", "[config]") {
  CHECK(diags_of("monolith: localhost:8081\n") ==
        "proxy.yaml:1:11: error: monolith: upstream URL must be http://HOST:PORT, got 'localhost:8081'\n");
  CHECK(diags_of("monolith: http://127.0.0.1:1\nservices:\n  catalog: http://127.0.0.1:2/api\n") ==
        "proxy.yaml:3:12: error: service 'catalog': upstream URL must not have a path: 'http://127.0.0.1:2/api'\n");
}

TEST_CASE("route-set problems point at the route", "[config]") {
  const std::string yaml = R"(services: {catalog: http://127.0.0.1:1}
routes:
  - id: a
    match: {path: "/api/products/{id}"}
    service: catalog
  - id: b
    match: {path: "/api/products/{pid}"}
    service: catalog
)";
  CHECK(diags_of(yaml) ==
        "proxy.yaml:6:5: error: route 'b' ties with route 'a' on /api/products/{} (same pattern, overlapping methods)\n");
}

TEST_CASE("data: where owners' feeds and sync status are served when not by the app", "[config]") {
  proxy_config c;
  banyan::diagnostics d;
  REQUIRE(parse_proxy_config("monolith: http://127.0.0.1:1\nservices: {items: http://127.0.0.1:2}\n"
                             "data:\n  monolith: http://127.0.0.1:3\n  items: http://127.0.0.1:4\n",
                             "proxy.yaml", c, d));
  CHECK(c.data_urls.at("monolith") == "http://127.0.0.1:3");
  CHECK(c.data_urls.at("items") == "http://127.0.0.1:4");
  CHECK(d.to_string().empty());
  CHECK(diags_of("monolith: http://127.0.0.1:1\ndata: {monolith: localhost}\n") ==
        "proxy.yaml:2:18: error: data of 'monolith': upstream URL must be http://HOST:PORT, got 'localhost'\n");
  // A name neither the monolith nor a service of the file: a warning, since a plan may add it.
  proxy_config w;
  banyan::diagnostics wd;
  CHECK(parse_proxy_config("monolith: http://127.0.0.1:1\nservices: {items: http://127.0.0.1:2}\n"
                           "data: {itmes: http://127.0.0.1:4}\n",
                           "proxy.yaml", w, wd));
  CHECK(wd.to_string() ==
        "proxy.yaml:3:8: warning: data names 'itmes', which is neither the monolith nor one of this file's services "
        "(fine if a plan adds it; a typo leaves its data URL unused)\n");
}

TEST_CASE("a fleet's etcd settings are read, and their mistakes found where they stand", "[config]") {
  proxy_config c;
  banyan::diagnostics d;
  REQUIRE(parse_proxy_config("monolith: http://127.0.0.1:1\netcd:\n  endpoints: [http://127.0.0.1:2379, "
                             "http://127.0.0.1:2380]\n  prefix: /shop/banyan\n  instance: east-1\n",
                             "proxy.yaml", c, d));
  CHECK(c.fleet.endpoints == std::vector<std::string>{"http://127.0.0.1:2379", "http://127.0.0.1:2380"});
  CHECK(c.fleet.prefix == "/shop/banyan");
  CHECK(c.fleet.instance == "east-1");
  CHECK_FALSE(c.fleet.start_from_local_copy);
  proxy_config one;
  REQUIRE(parse_proxy_config("monolith: http://127.0.0.1:1\netcd: {endpoints: 'http://127.0.0.1:2379,http://127.0.0.1:2479'}\n",
                             "proxy.yaml", one, d));
  CHECK(one.fleet.endpoints.size() == 2);
  CHECK(one.fleet.prefix == "/banyan");
  proxy_config none;
  REQUIRE(parse_proxy_config("monolith: http://127.0.0.1:1\n", "proxy.yaml", none, d));
  CHECK(none.fleet.endpoints.empty());  // one machine: the state directory

  CHECK(diags_of("etcd:\n  endpoints: [https://e:2379]\n") ==
        "proxy.yaml:2:14: error: etcd endpoints: only http:// URLs are supported, got 'https://e:2379'\n");
  CHECK(diags_of("etcd:\n  prefix: /x\n") == "proxy.yaml:2:3: error: etcd needs endpoints: [http://HOST:PORT, …]\n");
  CHECK(diags_of("etcd:\n  endpoints: http://e:2379\n  prefix: banyan/\n") ==
        "proxy.yaml:3:11: error: etcd prefix: expected '/' and a name, without a trailing '/', e.g. /banyan; got "
        "'banyan/'\n");
  CHECK(diags_of("etcd:\n  endpoints: http://e:2379\n  prefix: /a b\n") ==
        "proxy.yaml:3:11: error: etcd prefix: '/a b' has ' ' at 2; use letters, digits, '.', '_', '-' and single '/'\n");
  CHECK(diags_of("etcd:\n  endpoints: http://e:2379\n  prefx: /a\n") ==
        "proxy.yaml:3:3: error: unknown key 'prefx' in etcd (did you mean 'prefix'?)\n");
}
