#pragma once
// Starts a program and stops it: reads its stdout line by line, sends signals, waits for its exit.
// What `banyan demo` runs its stack with, and integration tests their servers. The destructor
// kills what is still running (SIGKILL), so nothing outlives its owner.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace banyan {

class child_process {
 public:
  // argv[0] is the program path. stderr goes to `stderr_file` (appended) when given, else is
  // inherited. Throws std::runtime_error when the process cannot be started.
  explicit child_process(std::vector<std::string> argv, const std::string& stderr_file = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next stdout line, or nullopt at EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  void signal(int sig);
  // Exit status as from a shell: the code, or 128+signal. nullopt if still running at timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  std::optional<int> status_;
};

// The port of a server that prints "listening on HOST:PORT" (every server here does), read from
// its stdout; nullopt when it did not within `timeout` (or exited).
std::optional<std::uint16_t> listening_port(child_process& p, std::chrono::milliseconds timeout);

}  // namespace banyan
