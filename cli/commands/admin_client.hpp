#pragma once
// The CLI's side of the proxy's admin API: one JSON request per call, bearer token, operator name.
#include "commands/global_options.hpp"

#include "banyan/platform/http_client.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace banyan::cli {

struct admin_reply {
  int status = 0;
  boost::json::value body;  // null when the body was not JSON
};

// Thrown when the proxy cannot be reached (exit 3) or the token cannot be read (exit 2).
struct admin_unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct admin_bad_setup : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class admin_client {
 public:
  // Reads the token (--token-file, else $BANYAN_TOKEN_FILE, else ./banyan-state/admin.token).
  explicit admin_client(const global_options& global);
  admin_reply call(std::string_view method, std::string_view target, const boost::json::value* body = nullptr);

 private:
  std::unique_ptr<http::client> http_;
  std::string token_, operator_;
};

// The error message of an admin reply, for the terminal.
std::string error_text(const admin_reply& reply);

// Runs f(client) and turns setup and connection failures into the CLI's exit codes (2 and 3).
template <class F>
int with_admin(const global_options& global, std::ostream& err, F&& f) {
  try {
    admin_client client(global);
    return f(client);
  } catch (const admin_bad_setup& e) {
    err << "banyan: " << e.what() << '\n';
    return exit_bad_input;
  } catch (const admin_unreachable& e) {
    err << "banyan: " << e.what() << "\n  is banyan-proxy running? Point --admin at its admin listener.\n";
    return exit_unreachable;
  }
}

}  // namespace banyan::cli
