#pragma once
// Options every banyan verb takes, and the exit codes of the CLI contract.
#include <string>

namespace banyan::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_check_failed = 1,  // a gate or check failed
  exit_bad_input = 2,     // bad input or usage
  exit_unreachable = 3,   // cannot reach the proxy
};

struct global_options {
  std::string admin_url = "http://127.0.0.1:9901";
  std::string token_file;
  std::string output = "text";  // text | json
  std::string operator_name;    // --as; default $USER
  bool json() const noexcept { return output == "json"; }
};

}  // namespace banyan::cli
