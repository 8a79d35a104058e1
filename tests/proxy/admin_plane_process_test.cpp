// The admin plane as an attacker meets it: banyan-proxy refuses to expose it by accident, and
// refuses a token file others can read.
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_upstream.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace banyan::test;

namespace {
// Runs banyan-proxy expecting it to refuse to start: its exit status and stderr.
std::pair<int, std::string> refused(temp_dir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), binary("banyan-proxy"));
  child_process p(args, dir.file("stderr.txt"));
  const auto code = p.wait(std::chrono::seconds(30));  // ASan on a busy machine starts slowly
  std::ifstream in(dir.file("stderr.txt"));
  std::stringstream err;
  err << in.rdbuf();
  return {code ? *code : -1, err.str()};
}
}  // namespace

TEST_CASE("proxy: the admin API never listens beyond loopback unless told to", "[proxy][admin]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  const auto [code, err] = refused(dir, {"--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0", "--monolith",
                                         monolith.url(), "--state-dir", dir.file("state")});
  CHECK(code == 2);
  CHECK(err.find("not a loopback address") != std::string::npos);
  CHECK(err.find("--admin-allow-remote") != std::string::npos);
}

TEST_CASE("proxy: a token file others can read stops the start", "[proxy][admin]") {
  temp_dir dir;
  test_upstream monolith("monolith");
  const auto token = dir.file("token");
  std::ofstream(token) << "0123456789abcdef0123456789abcdef\n";
  REQUIRE(::chmod(token.c_str(), 0644) == 0);
  const auto [code, err] = refused(dir, {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--monolith",
                                         monolith.url(), "--state-dir", dir.file("state"), "--admin-token-file", token});
  CHECK(code != 0);
  CHECK(err.find("readable by others") != std::string::npos);
}
