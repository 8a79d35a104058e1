#pragma once
// banyan-proxy as one instance of a fleet (docs/fleet.md): its own state directory, the fleet's
// etcd and shared admin token. For the fleet's tests and the cut-over across a fleet.
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <memory>
#include <string>

namespace banyan::test {

// The token every instance of a test's fleet shares, and the file holding it (mode 0600) in `dir`.
extern const std::string fleet_token;
std::string write_fleet_token(const temp_dir& dir);

struct fleet_proxy {
  temp_dir dir;
  std::string config;
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0, admin_port = 0;

  // `extra`: more configuration, appended after the etcd block (indented two spaces: in it).
  fleet_proxy(const std::string& monolith, const std::string& etcd, const std::string& token_file,
              const std::string& extra = "");
  void start();
  int stop();  // SIGCONT (if it was paused), SIGTERM; the exit status
  http_reply admin(std::string_view method, std::string_view target, std::string_view body = {}) const;
  std::string log() const;
  std::string admin_url() const { return "http://127.0.0.1:" + std::to_string(admin_port); }
};

}  // namespace banyan::test
