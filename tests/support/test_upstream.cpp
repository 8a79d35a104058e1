#include "support/test_upstream.hpp"

#include "banyan/proxy/http1.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace banyan::test {

namespace http1 = banyan::proxy::http1;

namespace {
bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::uint64_t query_number(std::string_view target, std::string_view key, std::uint64_t fallback) {
  const auto pos = target.find(std::string(key) + "=");
  if (pos == std::string_view::npos) return fallback;
  std::uint64_t v = fallback;
  const auto start = target.data() + pos + key.size() + 1;
  std::from_chars(start, target.data() + target.size(), v);
  return v;
}

std::string ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}
}  // namespace

test_upstream::test_upstream(std::string name) : name_(std::move(name)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 128) != 0)
    throw std::runtime_error("test upstream cannot listen");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mutex_);
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

test_upstream::~test_upstream() {
  stopping_ = true;
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  ::close(listen_fd_);
}

std::vector<std::string> test_upstream::paths() const {
  std::lock_guard lock(mutex_);
  return paths_;
}

void test_upstream::serve(int fd) {
  std::string buf;
  char chunk[65536];
  auto fill = [&]() {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  while (!stopping_) {
    http1::request_head req;
    http1::error err;
    http1::parse_state st;
    while ((st = http1::parse_request(buf, req, err)) == http1::parse_state::incomplete)
      if (!fill()) goto done;
    if (st == http1::parse_state::failed) break;
    {
      const std::string head = buf.substr(0, req.head_bytes);
      const std::string target(req.target);
      const auto body_kind = req.body;
      const auto length = req.content_length;
      buf.erase(0, head.size());
      const std::string path = target.substr(0, target.find('?'));
      // Consume the request body (uploads count it; others just drain it).
      std::uint64_t body_bytes = 0;
      if (body_kind == http1::body_kind::length) {
        while (buf.size() < length && buf.size() < (1u << 20))
          if (!fill()) goto done;
        std::uint64_t remaining = length;
        for (;;) {
          const auto take = std::min<std::uint64_t>(remaining, buf.size());
          buf.erase(0, take);
          remaining -= take;
          body_bytes += take;
          if (remaining == 0) break;
          if (!fill()) goto done;
        }
      } else if (body_kind == http1::body_kind::chunked) {
        http1::chunked_decoder dec;
        for (;;) {
          auto r = dec.feed(buf);
          buf.erase(0, r.consumed);
          if (r.err) goto done;
          if (r.done) break;
          if (!fill()) goto done;
        }
        body_bytes = dec.body_bytes();
      }
      ++requests_;  // counted once complete, body and all
      {
        std::lock_guard lock(mutex_);
        paths_.push_back(path);
      }
      std::string reply;
      if (path == "/echo") {
        reply = ok(head);
      } else if (path == "/slow" || path.ends_with("/slow")) {
        // The only answer that takes time, so the only one whose overlap is worth counting.
        const int now = ++slow_in_flight_;
        int seen = peak_slow_.load();
        while (now > seen && !peak_slow_.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(query_number(target, "ms", 1000)));
        --slow_in_flight_;
        reply = ok("slow");
      } else if (path == "/reset") {
        break;
      } else if (path == "/reset-mid") {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
        break;
      } else if (path == "/garbage") {
        send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
        break;
      } else if (path == "/big") {
        const auto total = query_number(target, "bytes", 1 << 20);
        if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n")) break;
        const std::string block(65536, 'b');
        for (std::uint64_t sent = 0; sent < total;) {
          const auto n = std::min<std::uint64_t>(block.size(), total - sent);
          if (!send_all(fd, std::string_view(block).substr(0, n))) goto done;
          sent += n;
        }
        continue;
      } else if (path == "/chunked") {
        reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
      } else if (path == "/ws") {
        // Switches to an echo of raw bytes, as a WebSocket server would after its handshake.
        if (!send_all(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")) break;
        if (!buf.empty() && !send_all(fd, buf)) break;
        buf.clear();
        while (fill()) {
          if (!send_all(fd, buf)) break;
          buf.clear();
        }
        break;
      } else if (path == "/healthz") {
        reply = healthy_ ? ok("ok") : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nsick";
      } else if (path == "/fail") {
        reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
                "{\"error\":\"boom\"}";
      } else if (path.starts_with("/internal/")) {
        // Like most apps: no change feed and no sync status (the write cut-over reads both).
        reply = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
                "{\"error\":\"not found\"}";
      } else if (path == "/upload") {
        reply = ok(std::to_string(body_bytes));
      } else {
        reply = ok(name_ + " " + path);
      }
      if (!send_all(fd, reply)) break;
    }
  }
done:
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

}  // namespace banyan::test
