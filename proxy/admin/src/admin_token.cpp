// Who may use the admin API: the token (created private, refused when others can read it), its
// constant-time check, the loopback rule for the listener, and the limit on repeated failures.
#include "banyan/proxy/admin_api.hpp"

#include "banyan/platform/hash.hpp"

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace banyan::proxy {

bool is_loopback_address(std::string_view address) noexcept {
  return address == "localhost" || address == "::1" || address == "[::1]" || address.starts_with("127.");
}

std::string load_or_create_token(const std::string& path) {
  if (struct stat st{}; ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("admin token file " + path + " is readable by others (mode " + mode +
                             "): anyone on this machine could change routing. chmod 600 " + path);
  }
  if (std::ifstream in(path); in) {
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) throw std::runtime_error("admin token in " + path + " is shorter than 16 characters");
    return token;
  }
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes))
    throw std::runtime_error("cannot read /dev/urandom to make an admin token");
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 0xf];
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create admin token file " + path);
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write admin token file " + path);
  return token;
}

auth_failures::verdict auth_failures::record(const std::string& address, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto& times = recent_[address];
  while (!times.empty() && now - times.front() > window) times.pop_front();
  times.push_back(now);
  if (times.size() > 4 * limit) times.pop_front();  // bounded: only "over the limit" matters beyond this
  if (recent_.size() > 10'000) recent_.clear();     // many addresses: forget them all rather than grow
  verdict v;
  v.recent = times.size();
  v.limited = times.size() > limit;
  // Every failure up to the limit is logged; past it one in ten, so a flood cannot fill the log.
  v.log = !v.limited || ++suppressed_ % 10 == 0;
  return v;
}

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace banyan::proxy
