#pragma once
// Starts a real program for an integration test and stops it: reads its stdout line by line,
// sends signals, waits for its exit. The destructor kills what is still running.
#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace banyan::test {

class child_process {
 public:
  // argv[0] is the program path. stderr goes to `stderr_file` when given, else is inherited.
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

// Starts a server binary that prints "listening on HOST:PORT" and returns the port.
std::uint16_t wait_for_listening(child_process& p, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Path of a built binary (tests get the bin directory from CMake).
std::string binary(const std::string& name);

}  // namespace banyan::test
