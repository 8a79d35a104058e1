#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace banyan::test {

const std::string* http_reply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return &v;
  return nullptr;
}

http_connection::http_connection(std::uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

http_connection::~http_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void http_connection::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool http_connection::fill() {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool http_connection::closed_by_peer(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
}

std::optional<http_reply> http_connection::read_reply(bool head_request) {
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return std::nullopt;
  http_reply reply;
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  reply.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    reply.headers.emplace_back(line.substr(0, colon), value);
  }
  if (head_request || reply.status == 204 || reply.status == 304 || reply.status / 100 == 1) return reply;
  if (const auto* te = reply.header("Transfer-Encoding"); te && te->find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill()) return std::nullopt;
      const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      buffer_.erase(0, eol + 2);
      while (buffer_.size() < size + 2)
        if (!fill()) return std::nullopt;
      reply.body += buffer_.substr(0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) return reply;
    }
  }
  if (const auto* cl = reply.header("Content-Length")) {
    const std::size_t size = std::stoul(*cl);
    while (buffer_.size() < size)
      if (!fill()) return std::nullopt;
    reply.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return reply;
  }
  while (fill()) {
  }
  reply.body = std::move(buffer_);
  buffer_.clear();
  return reply;
}

std::string http_connection::read_exactly(std::size_t n) {
  while (buffer_.size() < n)
    if (!fill()) break;
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, out.size());
  return out;
}

std::uint64_t http_connection::drain_body_after_head() {
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return 0;
  const std::string head = buffer_.substr(0, end + 4);
  buffer_.erase(0, end + 4);
  const auto pos = head.find("Content-Length: ");
  if (pos == std::string::npos) return 0;
  const std::uint64_t length = std::stoull(head.substr(pos + 16));
  std::uint64_t got = buffer_.size();
  buffer_.clear();
  char buf[1 << 16];
  while (got < length) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) break;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  return got;
}

http_reply http_connection::request(std::string_view method, std::string_view target, std::string_view body,
                                    std::vector<std::pair<std::string, std::string>> headers) {
  std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_length = has_length || strcasecmp(k.c_str(), "Content-Length") == 0 ||
                 strcasecmp(k.c_str(), "Transfer-Encoding") == 0;
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH"))
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  send_raw(req);
  auto reply = read_reply(method == "HEAD");
  if (!reply) throw std::runtime_error("no response to " + std::string(method) + " " + std::string(target));
  return *reply;
}

http_reply http_call(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body,
                     std::vector<std::pair<std::string, std::string>> headers) {
  http_connection c(port);
  return c.request(method, target, body, std::move(headers));
}

http_reply http_json(std::uint16_t port, std::string_view method, std::string_view target, std::string_view json) {
  return http_call(port, method, target, json, {{"Content-Type", "application/json"}});
}

}  // namespace banyan::test
