#include "byte_relay.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace banyan::proxy {

using boost::system::error_code;

asio::awaitable<relay_result> relay(tcp::socket& from, io_buffer& buf, tcp::socket& to, http1::body_kind kind,
                                    std::uint64_t length, deadline& dl, std::chrono::milliseconds read_timeout,
                                    std::chrono::milliseconds write_timeout, std::string_view prefix,
                                    std::uint64_t& relayed, std::uint64_t limit, capture* tee,
                                    bool head_waits_for_body) {
  http1::chunked_decoder decoder;
  std::uint64_t remaining = length;
  relayed = 0;
  for (;;) {
    const std::string_view avail = buf.readable();
    std::size_t take = 0;
    bool done = false;
    switch (kind) {
      case http1::body_kind::none:
        take = 0;
        done = true;
        break;
      case http1::body_kind::length:
        take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, avail.size()));
        remaining -= take;
        done = remaining == 0;
        break;
      case http1::body_kind::chunked: {
        auto r = decoder.feed(avail);
        if (r.err) co_return relay_result::framing;
        if (limit && decoder.body_bytes() > limit) co_return relay_result::too_large;
        take = r.consumed;
        done = r.done;
        break;
      }
      case http1::body_kind::until_close:
        take = avail.size();
        break;
    }
    // A request's head waits for its first body bytes: a client that sends none (gone, stalled,
    // or its first chunk malformed) leaves the upstream connection untouched and poolable. A
    // response's head leaves at once (a stream may send its first bytes much later).
    if (take > 0 || (!prefix.empty() && (done || !head_waits_for_body))) {
      std::string_view head = prefix, part = avail.substr(0, take);
      if (!send_now(to, head, part)) {
        auto [wec, wn] = co_await write_all(to, dl, write_timeout, head, part);
        if (wec) co_return relay_result::sink_failed;
      }
      prefix = {};
      if (tee) tee->take(avail.substr(0, take));
      buf.consume(take);
      relayed += take;
    }
    if (done) co_return relay_result::ok;
    if (buf.full()) co_return relay_result::framing;  // cannot happen with the sizes we use
    dl.arm(from, read_timeout);
    auto [ec, n] = co_await from.async_read_some(buf.writable(), use_tuple);
    if (ec) {
      if (kind == http1::body_kind::until_close && ec == asio::error::eof) co_return relay_result::ok;
      co_return dl.fired ? relay_result::timeout : relay_result::source_failed;
    }
    buf.commit(n);
  }
}

namespace {

// One direction of a tunnel: whatever arrives on `from` goes to `to`, until either fails.
asio::awaitable<void> pipe(tcp::socket& from, io_buffer& buf, tcp::socket& to, deadline& dl,
                           std::chrono::milliseconds idle_timeout) {
  for (;;) {
    if (buf.size() > 0) {
      const auto data = buf.readable();
      auto [ec, n] = co_await asio::async_write(to, asio::buffer(data.data(), data.size()), use_tuple);
      if (ec) co_return;
      buf.consume(n);
    }
    auto [ec, n] = co_await from.async_read_some(buf.writable(), use_tuple);
    if (ec) co_return;
    buf.commit(n);
    dl.when = coarse_now() + idle_timeout;  // traffic either way keeps the tunnel open
  }
}

}  // namespace

asio::awaitable<void> tunnel(tcp::socket& client, io_buffer& client_buf, tcp::socket& up, io_buffer& up_buf,
                             deadline& dl, std::string_view response_head, std::chrono::milliseconds write_timeout,
                             std::chrono::milliseconds idle_timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto [ec, n] = co_await write_all(client, dl, write_timeout, response_head);
  if (ec) co_return;
  dl.arm(client, idle_timeout);
  co_await (pipe(client, client_buf, up, dl, idle_timeout) || pipe(up, up_buf, client, dl, idle_timeout));
}

}  // namespace banyan::proxy
