// For every route of every shipped plan, every spelling of a path goes where its canonical path
// goes, or is refused: no spelling reaches another owner (after a write cut-over that would lose
// writes). The spellings are those the hostile corpus and Envoy's path normalisation deal with.
#include "banyan/plan/plan.hpp"
#include "banyan/proxy/request_path.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace banyan;

namespace {

// A concrete path for a pattern: parameters become "7", a trailing "**" becomes "x/y".
std::string example_path(const std::string& pattern) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '{') {
      out += "7";
      i = pattern.find('}', i) + 1;
    } else if (pattern.compare(i, 2, "**") == 0) {
      out += "x/y";
      i += 2;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// Respellings of `path` that RFC 3986 calls equivalent.
std::vector<std::string> spellings(const std::string& path) {
  std::vector<std::string> out;
  std::vector<std::string> segments;
  for (std::size_t at = 1; at <= path.size();) {
    const auto next = path.find('/', at);
    segments.push_back(path.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + 1;
  }
  auto join = [&](auto&& piece) {
    std::string s;
    for (std::size_t k = 0; k < segments.size(); ++k) s += "/" + piece(k, segments[k]);
    return s;
  };
  for (std::size_t k = 0; k < segments.size(); ++k) {
    out.push_back(join([&](std::size_t j, const std::string& seg) { return j == k ? "./" + seg : seg; }));
    out.push_back(join([&](std::size_t j, const std::string& seg) { return j == k ? "zz/../" + seg : seg; }));
    out.push_back(join([&](std::size_t j, const std::string& seg) { return j == k ? "%2e/" + seg : seg; }));
    out.push_back(join([&](std::size_t j, const std::string& seg) { return j == k ? "a/%2E%2e/" + seg : seg; }));
    out.push_back(join([&](std::size_t j, const std::string& seg) {
      if (j != k || seg.empty()) return seg;
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02x", static_cast<unsigned char>(seg[0]));
      return hex + seg.substr(1);
    }));
    out.push_back(join([&](std::size_t j, const std::string& seg) {
      if (j != k || seg.empty()) return seg;
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(seg.back()));
      return seg.substr(0, seg.size() - 1) + hex;
    }));
  }
  out.push_back("/" + path);  // a doubled leading slash
  out.push_back(path + "/");  // a trailing slash
  out.push_back("/admin/.." + path);
  out.push_back(path + "/x/..");
  return out;
}

std::string owner(const proxy::route_table& table, std::string_view method, std::string_view target) {
  std::string out;
  const auto r = proxy::normalize_target(target, out);
  if (r.verdict == proxy::path_verdict::refused) return "refused";
  const auto* m = table.match(method, r.verdict == proxy::path_verdict::normalized ? std::string_view(out) : target);
  return m ? m->id : "monolith";
}

}  // namespace

TEST_CASE("every spelling of a shipped plan's path reaches the route its canonical path does", "[migrations][path]") {
  int plans = 0, checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(BANYAN_SOURCE_DIR "/migrations")) {
    if (entry.path().extension() != ".yaml") continue;
    plan::plan p;
    banyan::diagnostics diags;
    REQUIRE(plan::load_plan(entry.path().string(), p, diags));
    ++plans;
    std::vector<proxy::route> routes;
    for (const auto& d : p.routes) routes.push_back(d.route);
    std::vector<proxy::route_error> errors;
    const auto table = proxy::route_table::build(routes, errors);
    REQUIRE(table);
    for (const auto& d : p.routes) {
      const std::string method = d.route.methods.empty() ? "GET" : d.route.methods.front();
      const std::string canonical = example_path(d.route.path);
      INFO(entry.path().filename().string() << " route " << d.route.id << " path " << canonical);
      REQUIRE(owner(*table, method, canonical) == d.route.id);
      for (const auto& s : spellings(canonical)) {
        INFO("spelled " << s);
        const auto got = owner(*table, method, s);
        CHECK(got == d.route.id);
        ++checked;
      }
    }
  }
  CHECK(plans >= 2);
  CHECK(checked > 50);
}
