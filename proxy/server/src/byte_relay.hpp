#pragma once
// Moving bytes between a client and an upstream: a whole small message in one write, a streamed
// body by its framing (validated as it passes, never copied), and tunnels after 101. Nothing here
// decides anything; every read and write is under the connection's deadline.
#include "deadline.hpp"
#include "exchange.hpp"
#include "io_buffer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/uio.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string_view>

namespace banyan::proxy {

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

enum class relay_result { ok, source_failed, sink_failed, framing, timeout, too_large };

// Sends what the socket takes right now, without an asynchronous operation: a small message to a
// peer that keeps up leaves here whole, and the request skips a trip through the scheduler and a
// coroutine suspension. True when all of it went; otherwise `a` and `b` are what is left (an
// error leaves them whole, for write_all to meet and report).
inline bool send_now(tcp::socket& s, std::string_view& a, std::string_view& b) noexcept {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  msghdr msg{};
  msg.msg_iov = a.empty() ? iov + 1 : iov;
  msg.msg_iovlen = (a.empty() ? 0 : 1) + (b.empty() ? 0 : 1);
  if (msg.msg_iovlen == 0) return true;
  const ssize_t n = ::sendmsg(s.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n <= 0) return false;
  auto sent = static_cast<std::size_t>(n);
  const std::size_t from_a = std::min(sent, a.size());
  a.remove_prefix(from_a);
  b.remove_prefix(sent - from_a);
  return a.empty() && b.empty();
}

// Returns the write operation itself (not a coroutine around it): one coroutine frame fewer.
inline auto write_all(tcp::socket& s, deadline& dl, std::chrono::milliseconds timeout, std::string_view a,
                      std::string_view b = {}) {
  dl.arm(s, timeout);
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size())};
  return asio::async_write(s, bufs, use_tuple);
}

// A body that is already complete in `buf` (none, or a Content-Length one that arrived with its
// head): the bytes to send; nullopt when relay() has to stream it.
inline std::optional<std::string_view> whole_body(const io_buffer& buf, http1::body_kind kind,
                                                  std::uint64_t length) noexcept {
  if (kind == http1::body_kind::none) return std::string_view();
  if (kind == http1::body_kind::length && length <= buf.size())
    return buf.readable().substr(0, static_cast<std::size_t>(length));
  return std::nullopt;
}
// After a whole body went out: what relay() does with the bytes it sent.
inline std::uint64_t took_whole_body(io_buffer& buf, std::string_view body, capture* tee) {
  if (tee) tee->take(body);
  buf.consume(body.size());
  return body.size();
}

// Relays a body framed as `kind` from `from` to `to`; `buf` holds bytes already read. `prefix`
// (a message head) goes out with the first body bytes in one write.
asio::awaitable<relay_result> relay(tcp::socket& from, io_buffer& buf, tcp::socket& to, http1::body_kind kind,
                                    std::uint64_t length, deadline& dl, std::chrono::milliseconds read_timeout,
                                    std::chrono::milliseconds write_timeout, std::string_view prefix,
                                    std::uint64_t& relayed, std::uint64_t limit = 0, capture* tee = nullptr,
                                    bool head_waits_for_body = false);

// After 101 Switching Protocols: bytes flow both ways until one side closes (then both close)
// or neither sends for idle_timeout.
asio::awaitable<void> tunnel(tcp::socket& client, io_buffer& client_buf, tcp::socket& up, io_buffer& up_buf,
                             deadline& dl, std::string_view response_head, std::chrono::milliseconds write_timeout,
                             std::chrono::milliseconds idle_timeout);

}  // namespace banyan::proxy
