// `banyan demo` end to end, headless, as scripts/demo.sh runs it: the migration completes, every
// step is in the audit log, the report is written, and no client request failed.
#include "banyan/platform/sqlite.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

using namespace banyan::test;
namespace json = boost::json;

TEST_CASE("banyan demo: the catalog's reads and writes move, every step audited, nothing lost", "[demo][slow]") {
  temp_dir dir;
  // As a user who installed the binaries runs it: a bin folder outside the repository, run from
  // another folder, no --plan (issue 20: it found its plan only from the repository).
  const auto bin = dir.path() / "installed" / "bin";
  const auto elsewhere = dir.path() / "elsewhere";
  std::filesystem::create_directories(bin);
  std::filesystem::create_directories(elsewhere);
  for (const char* name : {"banyan", "banyan-proxy", "legacy-shop", "catalog-service"})
    std::filesystem::copy_file(binary(name), bin / name);
  REQUIRE(dir.path().string().rfind(BANYAN_SOURCE_DIR, 0) != 0);  // not inside the repository
  const auto r = run_program({"/bin/sh", "-c",
                              "cd '" + elsewhere.string() + "' && exec '" + (bin / "banyan").string() +
                                  "' demo --keep-files --timeout 400s"},
                             dir);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("migration complete: stage writes of 001-extract-catalog.yaml (built into banyan)") !=
        std::string::npos);
  CHECK(r.out.find("failed client requests: 0\n") != std::string::npos);
  CHECK(r.out.find("data verify legacy-shop vs catalog-service: clean") != std::string::npos);
  // The story: the divergent build caught in shadow, the failing build rolled back, the writes moved.
  CHECK(r.out.find("the shadow stage caught a divergence on product-") != std::string::npos);
  CHECK(r.out.find("$.price_cents") != std::string::npos);
  CHECK(r.out.find("rolled back to stage shadow") != std::string::npos);
  CHECK(r.out.find("writes moved: product-create, product-change monolith → catalog") != std::string::npos);
  CHECK(r.out.find("writes owned by catalog: product-create, product-change") != std::string::npos);

  const std::string marker = "the demo's directory stays: ";
  const auto at = r.out.find(marker);
  REQUIRE(at != std::string::npos);
  const std::string demo_dir = r.out.substr(at + marker.size(), r.out.find('\n', at) - at - marker.size());
  struct cleanup {
    std::string path;
    ~cleanup() { std::filesystem::remove_all(path); }
  } remove_after{demo_dir};

  // The audit trail, from the proxy's own state: every stage entered, the rollback, the cut-over.
  banyan::sqlite::connection db(demo_dir + "/state/banyan.db");
  auto st = db.prepare("SELECT action, target, after FROM proxy_audit ORDER BY id");
  std::map<std::string, int> actions;
  std::map<std::string, int> stages;
  int switched = 0;
  while (st.step()) {
    ++actions[st.get_text(0)];
    const auto target = st.get_text(1);
    if (const auto at_sign = target.find('@'); at_sign != std::string::npos) ++stages[target.substr(at_sign + 1)];
    const auto after = json::parse(st.get_text(2));
    if (after.is_object() && after.as_object().contains("cutover") && after.at("cutover").at("switched").as_bool())
      ++switched;
  }
  CHECK(actions["plan.apply"] == 1);
  CHECK(actions["plan.advance"] >= 5);
  CHECK(actions["plan.rollback"] >= 1);
  CHECK(actions["plan.complete"] == 1);
  CHECK(actions["cutover.failed"] == 0);
  for (const char* s : {"shadow", "canary-5", "canary-50", "reads", "writes-shadow", "writes"}) {
    INFO("stage " << s);
    CHECK(stages[s] >= 1);
  }
  CHECK(switched == 1);  // the writes moved once, through the barrier
  // The report's figures: a page per route, with parity.
  std::ifstream html(demo_dir + "/shadow-report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  CHECK(page.find("product-detail") != std::string::npos);
  CHECK(page.find("product-list") != std::string::npos);
}

// The second act as a user runs it from an installed banyan: shipping moves out by the built-in
// plan, every order after the cut-over is a saga, one no carrier serves is compensated.
TEST_CASE("banyan demo --extract shipping: shipping moves out, orders become sagas, one is compensated", "[demo][slow]") {
  temp_dir dir;
  const auto bin = dir.path() / "installed" / "bin";
  const auto elsewhere = dir.path() / "elsewhere";
  std::filesystem::create_directories(bin);
  std::filesystem::create_directories(elsewhere);
  for (const char* name : {"banyan", "banyan-proxy", "legacy-shop", "shipping-service"})
    std::filesystem::copy_file(binary(name), bin / name);
  const auto r = run_program({"/bin/sh", "-c",
                              "cd '" + elsewhere.string() + "' && exec '" + (bin / "banyan").string() +
                                  "' demo --extract shipping --timeout 170s"},
                             dir);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("migration complete: stage writes of 002-extract-shipping.yaml (built into banyan)") !=
        std::string::npos);
  CHECK(r.out.find("writes moved: shipment-events monolith → shipping") != std::string::npos);
  CHECK(r.out.find("placed → cancelled (shipment booking failed: no carrier serves Antarctica)") != std::string::npos);
  CHECK(r.out.find("failed client requests: 0\n") != std::string::npos);
  CHECK(r.out.find("compensation shown: yes") != std::string::npos);
  CHECK(r.out.find("0 running") != std::string::npos);
  CHECK(r.out.find("data verify legacy-shop vs shipping-service: clean") != std::string::npos);
}
