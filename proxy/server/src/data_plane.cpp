#include "banyan/proxy/data_plane.hpp"

#include "banyan/platform/log.hpp"
#include "data_plane_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace banyan::proxy {

data_plane::impl::impl(data_plane_options o, routing_state& s) : opt(std::move(o)), state(s) {
  if (opt.threads < 1) opt.threads = 1;
  if (opt.buffer_bytes < opt.max_head_bytes + 1024) opt.buffer_bytes = opt.max_head_bytes + 1024;
  limits.max_head_bytes = opt.max_head_bytes;
  tcp::endpoint ep(asio::ip::make_address(opt.address), opt.port);
  for (int i = 0; i < opt.threads; ++i) {
    auto w = std::make_unique<worker>(opt);
    w->acceptor.open(ep.protocol());
    w->acceptor.set_option(asio::socket_base::reuse_address(true));
    // Every worker accepts on the same port; the kernel spreads connections across them.
    int one = 1;
    ::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    w->acceptor.bind(ep);
    w->acceptor.listen(asio::socket_base::max_listen_connections);
    if (i == 0) ep.port(w->acceptor.local_endpoint().port());
    workers.push_back(std::move(w));
  }
}

// Each worker's housekeeping, ten times a second: expire deadlines, let go of a replaced routing
// snapshot, flush the access log, and notice a stop request (the only cross-thread signal a worker
// takes).
asio::awaitable<void> data_plane::impl::housekeeping(worker& w) {
  asio::steady_timer t(w.ioc);
  for (;;) {
    t.expires_after(std::chrono::milliseconds(100));
    co_await t.async_wait(use_tuple);
    const auto now = coarse_now();
    for (auto* c : w.connections) c->dl.expire_if_due(now);
    w.rebalance_pools();
    w.forget_stale_routing(state);
    w.flush_log();
    if (stop_requested.load(std::memory_order_relaxed) && !w.stopping) begin_stop(w);
  }
}

asio::awaitable<void> data_plane::impl::accept_loop(worker& w) {
  while (!w.stopping) {
    auto [ec, socket] = co_await w.acceptor.async_accept(use_tuple);
    if (ec) {
      if (w.stopping || ec == asio::error::operation_aborted) break;
      asio::steady_timer t(w.ioc, std::chrono::milliseconds(20));  // EMFILE and the like: back off
      co_await t.async_wait(use_tuple);
      continue;
    }
    asio::co_spawn(w.ioc, session(w, std::move(socket)), asio::detached);
  }
}

void data_plane::impl::begin_stop(worker& w) {
  if (w.stopping) return;
  w.stopping = true;
  error_code ignored;
  w.acceptor.close(ignored);
  for (auto* c : w.connections)
    if (c->idle && c->client) c->client->cancel(ignored);
  for (auto& p : w.pools) {
    for (auto& s : p.idle) w.close_upstream(*p.u, s);
    p.idle.clear();
  }
  // In-flight requests get until the drain deadline; the loop ends as soon as they are done.
  asio::co_spawn(
      w.ioc,
      [&w, this]() -> asio::awaitable<void> {
        const auto deadline = clock_type::now() + opt.drain_timeout;
        asio::steady_timer t(w.ioc);
        while (!w.connections.empty() && clock_type::now() < deadline) {
          t.expires_after(std::chrono::milliseconds(10));
          co_await t.async_wait(use_tuple);
        }
        w.flush_log();
        w.ioc.stop();
      },
      asio::detached);
}

data_plane::data_plane(data_plane_options options, routing_state& state)
    : impl_(std::make_unique<impl>(std::move(options), state)) {
  // Before anyone can learn the address: a SIGTERM right after "listening on" must drain, not kill.
  impl& s = *impl_;
  if (s.opt.handle_signals) {
    s.signals = std::make_unique<asio::signal_set>(s.signal_ctx, SIGINT, SIGTERM);
    s.signals->async_wait([this](const error_code& ec, int) {
      if (!ec) stop();
    });
    // Unhandled, SIGHUP (logrotate's postrotate, a closed terminal) would kill the proxy.
    s.hangups = std::make_unique<asio::signal_set>(s.signal_ctx, SIGHUP);
    s.reopen_access_log_on_hangup();
  }
}

int open_access_log_file(const std::string& path) noexcept {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

void data_plane::impl::reopen_access_log_on_hangup() {
  hangups->async_wait([this](const error_code& ec, int) {
    if (ec) return;
    if (opt.access_log_path.empty()) {
      log::info("SIGHUP: the access log is not a file; nothing to reopen");
    } else if (const int fd = open_access_log_file(opt.access_log_path); fd < 0) {
      log::warn("SIGHUP: cannot reopen the access log; lines go on to the file it had",
                {{"path", opt.access_log_path}, {"error", std::strerror(errno)}});
    } else {
      // dup2 swaps the file under the descriptor every worker writes to, in one step.
      ::dup2(fd, opt.access_log_fd);
      ::close(fd);
      log::info("SIGHUP: access log reopened", {{"path", opt.access_log_path}});
    }
    reopen_access_log_on_hangup();
  });
}

data_plane::~data_plane() = default;

std::uint16_t data_plane::port() const noexcept { return impl_->workers.front()->acceptor.local_endpoint().port(); }

std::string data_plane::local_address() const {
  const auto ep = impl_->workers.front()->acceptor.local_endpoint();
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

std::uint64_t data_plane::active_connections() const noexcept { return impl_->active.load(); }

void data_plane::run() {
  impl& s = *impl_;
  for (auto& w : s.workers) {
    asio::co_spawn(w->ioc, s.accept_loop(*w), asio::detached);
    asio::co_spawn(w->ioc, s.housekeeping(*w), asio::detached);
  }
  std::thread signal_thread;
  if (s.signals) signal_thread = std::thread([&s] { s.signal_ctx.run(); });
  for (std::size_t i = 1; i < s.workers.size(); ++i) {
    auto* w = s.workers[i].get();
    w->thread = std::thread([w] { w->ioc.run(); });
  }
  s.workers.front()->ioc.run();
  for (std::size_t i = 1; i < s.workers.size(); ++i) s.workers[i]->thread.join();
  if (signal_thread.joinable()) {
    s.signal_ctx.stop();
    signal_thread.join();
  }
}

void data_plane::stop() { impl_->stop_requested = true; }

}  // namespace banyan::proxy
