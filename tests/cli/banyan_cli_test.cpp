// The banyan binary as operators run it.
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace banyan::test;

namespace {
struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result run_banyan(std::vector<std::string> args, const temp_dir& dir) {
  args.insert(args.begin(), binary("banyan"));
  child_process p(args, dir.file("stderr.txt"));
  std::string out;
  while (auto line = p.read_line(std::chrono::seconds(10))) out += *line + "\n";
  const auto code = p.wait(std::chrono::seconds(10));
  std::ifstream e(dir.file("stderr.txt"));
  std::stringstream err;
  err << e.rdbuf();
  std::ofstream(dir.file("stderr.txt"), std::ios::trunc);
  return {code ? *code : -1, out, err.str()};
}
}  // namespace

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
  auto help = run_banyan({"plan", "validate", "--help"}, dir);
  CHECK(help.code == 0);
  CHECK(help.out.find("Example:") != std::string::npos);
}
