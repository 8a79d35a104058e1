#include "support/fleet_proxy.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace banyan::test {

const std::string fleet_token = "f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7";

std::string write_fleet_token(const temp_dir& dir) {
  const auto path = dir.file("fleet.token");
  std::ofstream(path) << fleet_token << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

fleet_proxy::fleet_proxy(const std::string& monolith, const std::string& etcd, const std::string& token_file,
                         const std::string& extra) {
  config = dir.file("proxy.yaml");
  std::ofstream(config) << "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0, token_file: " << token_file
                        << "}\nmonolith: " << monolith << "\nstate_dir: " << dir.file("state")
                        << "\naccess_log: off\nhealth_checks: {path: ''}\netcd:\n  endpoints: " << etcd
                        << "\n  prefix: /test-fleet\n"
                        << extra;
  start();
}

void fleet_proxy::start() {
  proc = std::make_unique<child_process>(std::vector<std::string>{binary("banyan-proxy"), "--config", config},
                                         dir.file("proxy.log"));
  port = wait_for_listening(*proc);
  auto admin_line = proc->read_line(std::chrono::seconds(10));
  REQUIRE(admin_line);
  admin_port = static_cast<std::uint16_t>(std::stoi(admin_line->substr(admin_line->rfind(':') + 1)));
}

int fleet_proxy::stop() {
  proc->signal(SIGCONT);
  proc->signal(SIGTERM);
  const auto code = proc->wait(std::chrono::seconds(15));
  return code ? *code : -1;
}

http_reply fleet_proxy::admin(std::string_view method, std::string_view target, std::string_view body) const {
  return http_call(admin_port, method, target, body,
                   {{"Authorization", "Bearer " + fleet_token}, {"Content-Type", "application/json"},
                    {"X-Banyan-Operator", "test"}});
}

std::string fleet_proxy::log() const {
  std::ifstream in(dir.file("proxy.log"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace banyan::test
