#include "support/process.hpp"

#include <stdexcept>

#ifndef BANYAN_BIN_DIR
#error "BANYAN_BIN_DIR must name the directory of the built binaries"
#endif

namespace banyan::test {

std::uint16_t wait_for_listening(child_process& p, std::chrono::milliseconds timeout) {
  if (const auto port = listening_port(p, timeout)) return *port;
  throw std::runtime_error("server did not print 'listening on' in time");
}

std::string binary(const std::string& name) { return std::string(BANYAN_BIN_DIR) + "/" + name; }

}  // namespace banyan::test
