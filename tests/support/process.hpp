#pragma once
// Integration tests start real programs with the platform's child_process; these are the test
// side's helpers: where the built binaries are, and a port that must come.
#include "banyan/platform/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace banyan::test {

using banyan::child_process;

// Starts a server binary that prints "listening on HOST:PORT" and returns the port (throws when
// it does not come in time).
std::uint16_t wait_for_listening(child_process& p, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Path of a built binary (tests get the bin directory from CMake).
std::string binary(const std::string& name);

}  // namespace banyan::test
