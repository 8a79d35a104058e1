#include "banyan/proxy/health_checker.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace banyan::proxy {

namespace {
// Waits for `events` on fd until the deadline.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left)) == 1 && (p.revents & events);
}
}  // namespace

bool probe_health(const std::string& host, std::uint16_t port, const std::string& path,
                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&addr); inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr); inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool healthy = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 ||
      (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline))) {
    int err = 0;
    socklen_t err_len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: banyan-health\r\n"
                                "Connection: close\r\n\r\n";
    if (err == 0 && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[64];
      std::size_t got = 0;
      while (got < 12 && wait_for(fd, POLLIN, deadline)) {
        const ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
      }
      // "HTTP/1.x 2xx" or 3xx.
      healthy = got >= 12 && std::string_view(buf, 5) == "HTTP/" && (buf[9] == '2' || buf[9] == '3');
    }
  }
  ::close(fd);
  return healthy;
}

health_checker::health_checker(routing_state& state, health_check_options options)
    : state_(state), options_(std::move(options)) {
  if (!options_.path.empty()) thread_ = std::thread([this] { run(); });
}

health_checker::~health_checker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void health_checker::run() {
  std::map<const upstream*, int> failures;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (const auto snap = state_.load()) {
      for (const auto& u : snap->service_of) {
        if (!u) continue;
        if (probe_health(u->host, u->port, options_.path, options_.timeout)) {
          failures[u.get()] = 0;
          u->healthy.store(true, std::memory_order_relaxed);
        } else if (++failures[u.get()] >= options_.unhealthy_after) {
          u->healthy.store(false, std::memory_order_relaxed);
        }
      }
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace banyan::proxy
