#pragma once
// One data-plane worker: an event loop on its own thread, and what it pools so that requests
// allocate nothing — read buffers in two sizes, per-request exchanges, and idle connections per
// upstream with the queue of requests waiting for one under the upstream's connection cap.
// Workers share nothing but the routing snapshot (read only when it changes) and the routes' and
// upstreams' atomic counters.
#include "banyan/proxy/data_plane.hpp"
#include "deadline.hpp"
#include "exchange.hpp"
#include "io_buffer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace banyan::proxy {

using boost::system::error_code;

// What a drain and the deadline sweep need to see of a connection.
struct connection_ctl {
  tcp::socket* client = nullptr;
  bool idle = true;
  deadline dl;
};
// A request queued for a connection to a capped upstream: woken (its timer cancelled) when a
// connection is pooled or closed on this worker, and by housekeeping.
struct slot_waiter {
  asio::steady_timer timer;
};

inline constexpr std::size_t small_buffer_bytes = 4096;

struct worker {
  const data_plane_options& opt;
  // One thread per event loop and nothing shared across loops: no locks in the scheduler or the
  // reactor. Other threads never post here; they raise the plane's stop_requested, which
  // housekeeping polls.
  asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  tcp::acceptor acceptor{ioc};
  // Two sizes: a small buffer is all an idle keep-alive connection holds; a large one serves big
  // heads, streamed bodies and upstream responses.
  std::vector<std::unique_ptr<char[]>> free_small;
  std::vector<std::unique_ptr<char[]>> free_large;
  std::vector<std::unique_ptr<exchange>> free_exchanges;
  std::list<connection_ctl*> connections;
  bool stopping = false;
  std::thread thread;
  std::uint64_t rng = 0x9e3779b97f4a7c15ULL;  // shadow sampling
  std::string log_buf;                        // access log lines waiting for the next flush
  std::time_t log_second = 0;
  char log_time[24] = {};

  explicit worker(const data_plane_options& o) : opt(o) {}

  // The routing snapshot as this worker's requests hold it. Loading the shared one per request
  // (std::atomic<std::shared_ptr>: a lock bit and the control block's count, both written by every
  // worker on every request) would bounce those cache lines between cores as workers are added;
  // a worker re-reads it only when the routing's version moves, and its requests count their
  // references in a control block of the worker's own (an aliasing pointer to the same snapshot).
  const std::shared_ptr<const routing_snapshot>& routing(const routing_state& state) {
    if (!routing_cache || state.live_version() != routing_cache_version) {
      auto shared = state.load();
      if (!shared) {
        routing_cache.reset();
        return routing_cache;
      }
      routing_cache_version = shared->version;
      auto holder = std::make_shared<std::shared_ptr<const routing_snapshot>>(std::move(shared));
      routing_cache = std::shared_ptr<const routing_snapshot>(holder, holder->get());
    }
    return routing_cache;
  }
  // Housekeeping: an idle worker must not keep a replaced snapshot (and its tables) alive.
  void forget_stale_routing(const routing_state& state) {
    if (routing_cache && state.live_version() != routing_cache_version) routing_cache.reset();
  }
  std::shared_ptr<const routing_snapshot> routing_cache;
  std::uint64_t routing_cache_version = 0;

  void flush_log() {
    if (log_buf.empty() || opt.access_log_fd < 0) return;
    std::string_view rest = log_buf;
    while (!rest.empty()) {
      const ssize_t n = ::write(opt.access_log_fd, rest.data(), rest.size());
      if (n <= 0) break;  // a full disk must not stop traffic: the lines are dropped
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    log_buf.clear();
  }

  static std::unique_ptr<char[]> pop_or_new(std::vector<std::unique_ptr<char[]>>& list, std::size_t size) {
    if (list.empty()) return std::unique_ptr<char[]>(new char[size]);
    auto block = std::move(list.back());
    list.pop_back();
    return block;
  }
  void take_small(io_buffer& b) {
    if (!b.has_storage()) b.attach(pop_or_new(free_small, small_buffer_bytes), small_buffer_bytes);
  }
  void take_large(io_buffer& b) {
    if (!b.has_storage()) b.attach(pop_or_new(free_large, opt.buffer_bytes), opt.buffer_bytes);
  }
  // Moves the unread bytes of a small buffer into a large one.
  void grow(io_buffer& b) {
    if (b.capacity() >= opt.buffer_bytes) return;
    io_buffer large;
    take_large(large);
    const auto data = b.readable();
    std::memcpy(large.writable().data(), data.data(), data.size());
    large.commit(data.size());
    b.consume(data.size());
    give_buffer(b);
    b = std::move(large);
  }
  void give_buffer(io_buffer& b) {
    if (!b.has_storage() || b.size() != 0) return;
    auto& list = b.capacity() == small_buffer_bytes ? free_small : free_large;
    list.push_back(b.detach());
  }
  std::unique_ptr<exchange> take_exchange() {
    if (free_exchanges.empty()) return std::make_unique<exchange>(ioc);
    auto x = std::move(free_exchanges.back());
    free_exchanges.pop_back();
    return x;
  }
  void give_exchange(std::unique_ptr<exchange> x) {
    // A pooled exchange must not keep an old routing snapshot (and its tables) alive.
    close_upstream(*x);  // normally done: the connection went back to the pool or was closed
    if (x->write_counted) {  // the write is over, whatever its outcome: a barrier may count it done
      x->write_counted->writes_in_flight.fetch_sub(1);
      x->write_counted = nullptr;
    }
    x->snap.reset();
    x->target_upstream.reset();
    // A capture not handed to the mirror (the exchange failed) must not pin up to the compare
    // limit in a pooled exchange.
    for (auto* cap : {&x->req_cap, &x->res_cap})
      if (cap->bytes.capacity() > 64 * 1024) std::string().swap(cap->bytes);
    if (x->upbuf.has_storage()) {
      if (x->upbuf.size() != 0) x->upbuf.consume(x->upbuf.size());
      give_buffer(x->upbuf);
    }
    free_exchanges.push_back(std::move(x));
  }

  // Connections to one upstream: the idle ones, and the requests of this worker queued for one
  // while the upstream's connection cap is reached (first come, first served).
  struct upstream_pool {
    upstream* u = nullptr;
    std::vector<tcp::socket> idle;
    std::list<slot_waiter*> waiters;
  };
  std::vector<upstream_pool> pools;  // by upstream id

  upstream_pool& pool_of(upstream& u) {
    if (pools.size() <= u.id) pools.resize(u.id + 1);
    auto& p = pools[u.id];
    p.u = &u;
    return p;
  }
  // Closes an upstream connection and gives its slot back, waking the first request queued for
  // one here (another worker's queued requests retry on their housekeeping tick).
  void close_upstream(upstream& u, tcp::socket& s) {
    error_code ignored;
    s.close(ignored);
    u.connections.release();
    wake_first(pool_of(u));
  }
  void close_upstream(exchange& x) {
    if (!x.up_slot) return;
    upstream* const u = std::exchange(x.up_slot, nullptr);
    close_upstream(*u, x.up);
  }
  static void wake_first(upstream_pool& p) {
    if (!p.waiters.empty()) p.waiters.front()->timer.cancel();
  }
  // Puts a pooled connection into x.up (with its slot). With `probe`, one the upstream has
  // closed meanwhile is skipped: worth a syscall for requests that cannot be retried.
  bool take_pooled(exchange& x, upstream& u, bool probe_first) {
    auto& pool = pool_of(u).idle;
    while (!pool.empty()) {
      tcp::socket s = std::move(pool.back());
      pool.pop_back();
      if (probe_first) {
        char probe;
        const ssize_t n = ::recv(s.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
        if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
          close_upstream(u, s);  // closed by the upstream, or it sent bytes nobody asked for
          continue;
        }
      }
      x.up = std::move(s);
      x.up_slot = &u;
      return true;
    }
    return false;
  }
  // A slot for a new connection in x.up (not yet connected).
  bool take_slot(exchange& x, upstream& u) {
    if (!u.connections.try_acquire(opt.max_connections_per_upstream)) return false;
    x.up_slot = &u;  // x.up is a closed socket whenever it holds no slot
    return true;
  }
  // Returns x.up to the idle pool, unless it is full, the worker stops, or another worker's
  // requests wait for a slot this connection would keep.
  void give_pooled(exchange& x) {
    upstream* const u = std::exchange(x.up_slot, nullptr);
    if (!u) return;
    auto& p = pool_of(*u);
    if (stopping || p.idle.size() >= opt.max_idle_per_upstream ||
        (p.waiters.empty() && u->connections.waiting.load(std::memory_order_relaxed) > 0)) {
      close_upstream(*u, x.up);
      return;
    }
    p.idle.push_back(std::move(x.up));
    wake_first(p);
  }
  // Housekeeping: queued requests retry (a slot may have freed on another worker), and idle
  // connections another worker's queued requests need are closed.
  void rebalance_pools() {
    for (auto& p : pools) {
      if (!p.u) continue;
      if (!p.waiters.empty()) {
        wake_first(p);
      } else if (!p.idle.empty() && p.u->connections.waiting.load(std::memory_order_relaxed) > 0) {
        while (!p.idle.empty()) {
          close_upstream(*p.u, p.idle.back());
          p.idle.pop_back();
        }
      }
    }
  }
};

}  // namespace banyan::proxy
