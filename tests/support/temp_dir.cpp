#include "support/temp_dir.hpp"

#include <cstdlib>
#include <stdexcept>

namespace banyan::test {

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "banyan-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  // BANYAN_KEEP_TEST_DIRS=1: left for a look at the logs of a failed run.
  if (const char* keep = std::getenv("BANYAN_KEEP_TEST_DIRS"); keep && *keep == '1') return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace banyan::test
