// The route model both faces share: JSON (admin API, CLI) round-trips every field; YAML reads the
// same route; upstream URLs follow one rule.
#include "banyan/proxy/route_json.hpp"
#include "banyan/proxy/route_yaml.hpp"
#include "banyan/proxy/upstream_url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace banyan::proxy;

namespace {
route full_route() {
  route r;
  r.id = "catalog-reads";
  r.methods = {"GET", "HEAD"};
  r.path = "/api/products/**";
  r.service = "catalog";
  r.mode = route_mode::canary;
  r.percent_bp = 1250;
  r.key = {canary_key::source::cookie, "uid"};
  r.shadow.sample_bp = 2550;
  r.shadow.sample_by_key = true;
  r.shadow.dry_run_writes = true;
  r.shadow.reverse = true;
  r.shadow.max_compare_bytes = 4096;
  r.shadow.compare.ignore = {"$.generated_at", "$.items[*].updated_at"};
  r.shadow.compare.headers = {"etag"};
  r.shadow.compare.ignore_headers = {"content-type"};
  r.shadow.compare.tolerance = 0.01;
  r.shadow.compare.unordered = {{"$.items", "id"}};
  r.shadow.compare.redact = {"$.email"};
  r.shadow.compare.redact_headers = {"x-api-key"};
  return r;
}
bool same(const route& a, const route& b) {
  return a.id == b.id && a.methods == b.methods && a.path == b.path && a.service == b.service && a.mode == b.mode &&
         a.percent_bp == b.percent_bp && a.key.from == b.key.from && a.key.name == b.key.name && a.shadow == b.shadow;
}
}  // namespace

TEST_CASE("route JSON round-trips every field, through text") {
  route plain;
  plain.id = "plain";
  plain.path = "/x";
  for (const auto& r : {full_route(), plain}) {
    const std::string text = boost::json::serialize(route_to_json(r));
    route back;
    std::vector<std::string> problems;
    INFO(text);
    REQUIRE(route_from_json(boost::json::parse(text), back, problems));
    CHECK(problems.empty());
    CHECK(same(r, back));
  }
}

TEST_CASE("route JSON names what is wrong") {
  route out;
  std::vector<std::string> problems;
  CHECK_FALSE(route_from_json(boost::json::parse(R"({"id":"x","match":{"path":"/x"},"mode":"sideways"})"), out,
                              problems));
  REQUIRE_FALSE(problems.empty());
  CHECK(problems.front().find("mode") != std::string::npos);
}

TEST_CASE("a route reads the same from YAML") {
  banyan::diagnostics diags;
  banyan::yaml_reader reader("plan.yaml", diags);
  const auto node = YAML::Load(
      "id: catalog-reads\nmatch: {methods: [GET, HEAD], path: /api/products/**}\nservice: catalog\n"
      "mode: canary\npercent: 12.5\ncanary_key: {cookie: uid}\n");
  route r;
  read_route(reader, node, r, {"id", "match", "service", "mode", "percent", "canary_key"});
  INFO(diags.to_string());
  CHECK_FALSE(diags.has_errors());
  CHECK(r.path == "/api/products/**");
  CHECK(r.mode == route_mode::canary);
  CHECK(r.percent_bp == 1250);
  CHECK(r.key.from == canary_key::source::cookie);
  CHECK(r.key.name == "uid");
}

TEST_CASE("upstream URLs: http://HOST[:PORT] and nothing else") {
  std::string host, why;
  std::uint16_t port = 0;
  CHECK(split_upstream_url("http://127.0.0.1:8082", host, port, why));
  CHECK(host == "127.0.0.1");
  CHECK(port == 8082);
  CHECK(split_upstream_url("http://[::1]:9", host, port, why));
  CHECK(host == "::1");
  CHECK(split_upstream_url("http://shop", host, port, why));
  CHECK(port == 80);
  CHECK_FALSE(split_upstream_url("https://shop:1", host, port, why));
  CHECK_FALSE(split_upstream_url("http://shop:1/api", host, port, why));
  CHECK(why.find("path") != std::string::npos);
  CHECK_FALSE(split_upstream_url("shop:1", host, port, why));
}
