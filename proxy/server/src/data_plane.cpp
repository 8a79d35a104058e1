#include "banyan/proxy/data_plane.hpp"
#include "banyan/platform/clock.hpp"

#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/forward_headers.hpp"
#include "banyan/proxy/http1.hpp"
#include "banyan/proxy/request_path.hpp"
#include "banyan/proxy/route_decision.hpp"
#include "banyan/proxy/upstream_failure.hpp"
#include "banyan/proxy/shadow_mirror.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <array>
#include <tuple>
#include <utility>
#include <cstring>
#include <atomic>
#include <list>
#include <optional>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cstdio>
#include <ctime>
#include <thread>

namespace banyan::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Deadlines are seconds long: the coarse clock (same epoch as steady_clock, ms resolution) is a
// fraction of the cost of a precise reading, and it is read several times per request.
clock_type::time_point coarse_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock_type::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}


// A contiguous read buffer. Views handed out stay valid until the next writable() call, which may
// compact the unread bytes to the front.
class io_buffer {
 public:
  bool has_storage() const noexcept { return data_ != nullptr; }
  std::string_view readable() const noexcept { return {data_ + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool full() const noexcept { return begin_ == 0 && end_ == capacity_; }
  std::size_t capacity() const noexcept { return capacity_; }
  asio::mutable_buffer writable() noexcept {
    if (begin_ > 0 && end_ == capacity_) {
      std::memmove(data_, data_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_ + end_, capacity_ - end_};
  }
  void commit(std::size_t n) noexcept { end_ += n; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  io_buffer() = default;
  io_buffer(io_buffer&& o) noexcept { *this = std::move(o); }
  io_buffer& operator=(io_buffer&& o) noexcept {
    owned_ = std::move(o.owned_);
    data_ = std::exchange(o.data_, nullptr);
    capacity_ = std::exchange(o.capacity_, 0);
    begin_ = std::exchange(o.begin_, 0);
    end_ = std::exchange(o.end_, 0);
    return *this;
  }
  void attach(std::unique_ptr<char[]> storage, std::size_t capacity) noexcept {
    owned_ = std::move(storage);
    data_ = owned_.get();
    capacity_ = capacity;
    begin_ = end_ = 0;
  }
  std::unique_ptr<char[]> detach() noexcept {
    data_ = nullptr;
    capacity_ = begin_ = end_ = 0;
    return std::move(owned_);
  }

 private:
  std::unique_ptr<char[]> owned_;
  char* data_ = nullptr;
  std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

// One deadline per connection, enforced by its worker's sweep (every 100 ms) rather than a timer
// of its own: arming is two stores, and an idle connection owns no timer, operation or coroutine.
// On expiry the sweep cancels the target socket's pending operation (never closes it, so a
// 408/504 can still be written).
struct deadline {
  clock_type::time_point when = clock_type::time_point::max();
  tcp::socket* target = nullptr;
  bool fired = false;

  void arm(tcp::socket& s, std::chrono::milliseconds timeout) noexcept {
    target = &s;
    fired = false;
    when = coarse_now() + timeout;
  }
  // The target may be a socket that is about to go away: forget it.
  void disarm() noexcept {
    target = nullptr;
    when = clock_type::time_point::max();
  }
  void expire_if_due(clock_type::time_point now) noexcept {
    if (now < when || !target) return;
    fired = true;
    when = clock_type::time_point::max();
    error_code ignored;
    target->cancel(ignored);
  }
};

// Bytes of a message kept for its shadow copy, up to a limit; past it only the fact is kept.
struct capture {
  std::string bytes;
  std::uint64_t limit = 0;
  bool active = false;
  bool overflow = false;
  void start(std::string_view head, std::uint64_t body_limit) {
    bytes.assign(head);
    limit = head.size() + body_limit;
    active = true;
    overflow = false;
  }
  void take(std::string_view b) {
    if (!active || overflow) return;
    if (bytes.size() + b.size() > limit) overflow = true;
    else bytes.append(b);
  }
};

// Per-request state, pooled per worker: an idle keep-alive connection holds none of it.
struct exchange {
  http1::request_head req;
  http1::response_head res;
  std::string head_out;
  io_buffer upbuf;
  // Copied from the head for the access log, since the head's bytes may move during the body.
  std::array<char, 16> method{};
  std::size_t method_len = 0;
  std::array<char, 512> target{};
  std::size_t target_len = 0;
  // Per-request values that live across suspension points: here rather than in the coroutine
  // frame, which must stay under the size Asio's frame recycling caches (1020 bytes).
  request_id rid;
  trace_context trace;
  request_forwarding fwd;
  response_forwarding rf;
  http1::error perr;
  std::shared_ptr<const routing_snapshot> snap;
  std::shared_ptr<upstream> target_upstream;
  // The upstream exchange's inputs and outcome (send_upstream).
  bool to_service = false, is_head = false, safe = false, idempotent = false;
  http1::body_kind body = http1::body_kind::none;
  std::uint64_t body_length = 0;
  bool failed = false;  // the outcome: on failure, its kind and what after_failure() said to do
  failure_kind failure = failure_kind::connect_refused;
  next_step failure_step = next_step::answer;
  bool upstream_untouched = false;  // the client failed before anything was written upstream
  // Shadow copy of this request (shadow routes, and service routes with reverse shadow).
  bool shadow_copy = false, shadow_dry_run = false, shadow_primary_monolith = true;
  std::uint32_t shadow_route = 0;
  std::string shadow_method, shadow_target;
  std::string normalized_target;  // when the path was respelled (request_path.hpp)
  capture req_cap, res_cap;
  tcp::socket up;  // the upstream connection while it serves this request
  upstream* up_slot = nullptr;  // whose connection slot `up` holds (see connection_budget)
  explicit exchange(asio::io_context& ioc) : up(ioc) { head_out.reserve(4096); }
};

// Appends `text` as the inside of a JSON string: request targets are visible ASCII, so only the
// quote and the backslash need escaping.
void append_json_text(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
}

enum class relay_result { ok, source_failed, sink_failed, framing, timeout, too_large };

}  // namespace

struct data_plane::impl {
  struct worker;

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

  static constexpr std::size_t small_buffer_bytes = 4096;

  struct worker {
    impl& owner;
    // One thread per event loop and nothing shared across loops: no locks in the scheduler or the
    // reactor. Other threads never post here; they raise owner.stop_requested, which a timer polls.
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
    std::string log_buf;  // access log lines waiting for the next flush
    std::time_t log_second = 0;
    char log_time[24] = {};

    explicit worker(impl& o) : owner(o) {}

    void flush_log() {
      if (log_buf.empty() || owner.opt.access_log_fd < 0) return;
      std::string_view rest = log_buf;
      while (!rest.empty()) {
        const ssize_t n = ::write(owner.opt.access_log_fd, rest.data(), rest.size());
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
      if (!b.has_storage()) b.attach(pop_or_new(free_large, owner.opt.buffer_bytes), owner.opt.buffer_bytes);
    }
    // Moves the unread bytes of a small buffer into a large one.
    void grow(io_buffer& b) {
      if (b.capacity() >= owner.opt.buffer_bytes) return;
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
      if (!u.connections.try_acquire(owner.opt.max_connections_per_upstream)) return false;
      x.up_slot = &u;  // x.up is a closed socket whenever it holds no slot
      return true;
    }
    // Returns x.up to the idle pool, unless it is full, the worker stops, or another worker's
    // requests wait for a slot this connection would keep.
    void give_pooled(exchange& x) {
      upstream* const u = std::exchange(x.up_slot, nullptr);
      if (!u) return;
      auto& p = pool_of(*u);
      if (stopping || p.idle.size() >= owner.opt.max_idle_per_upstream ||
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

  data_plane_options opt;
  routing_state& state;
  http1::limits limits;
  std::vector<std::unique_ptr<worker>> workers;
  std::atomic<std::uint64_t> active{0};
  std::atomic<bool> stop_requested{false};
  asio::io_context signal_ctx{1};
  std::unique_ptr<asio::signal_set> signals;

  impl(data_plane_options o, routing_state& s) : opt(std::move(o)), state(s) {
    if (opt.threads < 1) opt.threads = 1;
    if (opt.buffer_bytes < opt.max_head_bytes + 1024) opt.buffer_bytes = opt.max_head_bytes + 1024;
    limits.max_head_bytes = opt.max_head_bytes;
    tcp::endpoint ep(asio::ip::make_address(opt.address), opt.port);
    for (int i = 0; i < opt.threads; ++i) {
      auto w = std::make_unique<worker>(*this);
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

  // Each worker's housekeeping, ten times a second: expire deadlines, flush the access log, and
  // notice a stop request (the only cross-thread signal a worker takes).
  asio::awaitable<void> housekeeping(worker& w) {
    asio::steady_timer t(w.ioc);
    for (;;) {
      t.expires_after(std::chrono::milliseconds(100));
      co_await t.async_wait(use_tuple);
      const auto now = coarse_now();
      for (auto* c : w.connections) c->dl.expire_if_due(now);
      w.rebalance_pools();
      w.flush_log();
      if (stop_requested.load(std::memory_order_relaxed) && !w.stopping) begin_stop(w);
    }
  }

  asio::awaitable<void> accept_loop(worker& w) {
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

  void begin_stop(worker& w) {
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

  // Sends what the socket takes right now, without an asynchronous operation: a small message to a
  // peer that keeps up leaves here whole, and the request skips a trip through the scheduler and a
  // coroutine suspension. True when all of it went; otherwise `a` and `b` are what is left (an
  // error leaves them whole, for write_all to meet and report).
  static bool send_now(tcp::socket& s, std::string_view& a, std::string_view& b) noexcept {
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
  static auto write_all(tcp::socket& s, deadline& dl, std::chrono::milliseconds timeout, std::string_view a,
                        std::string_view b = {}) {
    dl.arm(s, timeout);
    const std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size())};
    return asio::async_write(s, bufs, use_tuple);
  }

  // Carries out the decision's shadow choice: counts a copy not taken, or keeps what the copy needs.
  static void take_copy_decision(exchange& x, const route_decision& d, route_stats* stats, std::string_view method,
                                 std::string_view target) {
    x.shadow_copy = d.shadow == shadow_choice::copy;
    if (d.shadow == shadow_choice::skipped_write && stats)
      stats->shadow_skipped_writes.fetch_add(1, std::memory_order_relaxed);
    else if (d.shadow == shadow_choice::too_large && stats)
      stats->shadow_too_large.fetch_add(1, std::memory_order_relaxed);
    if (!x.shadow_copy) return;
    x.shadow_dry_run = d.shadow_dry_run;
    x.shadow_primary_monolith = d.shadow_primary_monolith;
    x.shadow_route = d.index;
    x.shadow_method.assign(method);
    x.shadow_target.assign(target);
  }

  // The copy's head: the forwarded head, marked.
  static void start_request_capture(exchange& x, std::uint64_t limit) {
    std::string_view head = x.head_out;
    head.remove_suffix(2);  // the blank line
    x.req_cap.start(head, limit);
    x.req_cap.bytes += x.shadow_dry_run ? "X-Banyan-Shadow: dry-run\r\n\r\n" : "X-Banyan-Shadow: 1\r\n\r\n";
    x.req_cap.limit += x.req_cap.bytes.size() - head.size();
  }

  // Hands a finished exchange's capture to the mirror; counts it dropped when the queue is full.
  void offer_copy(exchange& x, route_stats* stats, clock_type::time_point started) {
    x.req_cap.active = x.res_cap.active = false;
    if (x.req_cap.overflow) {  // a chunked request body past the compare limit
      if (stats) stats->shadow_too_large.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    mirror_job job;
    job.snap = x.snap;
    job.route_index = x.shadow_route;
    job.primary_is_monolith = x.shadow_primary_monolith;
    job.safe = !x.shadow_dry_run;
    job.head_bytes = x.req_cap.bytes.find("\r\n\r\n") + 4;
    job.request = std::move(x.req_cap.bytes);
    job.primary = std::move(x.res_cap.bytes);
    job.primary_too_large = x.res_cap.overflow;
    job.primary_seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    job.at_ms = unix_ms();
    job.request_id.assign(x.rid.value());
    job.method = std::move(x.shadow_method);
    job.target = std::move(x.shadow_target);
    if (opt.mirror->offer(std::move(job))) {
      if (stats) stats->shadow_copied.fetch_add(1, std::memory_order_relaxed);
    } else if (stats) {
      stats->shadow_dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Counts the request on its route and, when enabled, adds its access log line.
  void finish(worker& w, route_stats* stats, route_mode mode, const upstream* target, bool service, int status,
              std::uint64_t bytes, clock_type::time_point started, const exchange& x, std::string_view request_id,
              std::string_view trace_id) {
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    if (stats) stats->record(mode, service, status, seconds);
    if (opt.access_log_fd < 0) return;
    const auto wall = std::chrono::system_clock::now();
    const std::time_t sec = std::chrono::system_clock::to_time_t(wall);
    if (sec != w.log_second) {
      std::tm tm{};
      gmtime_r(&sec, &tm);
      std::strftime(w.log_time, sizeof w.log_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
      w.log_second = sec;
    }
    std::string& out = w.log_buf;
    char num[64];
    out += "{\"time\":\"";
    out += w.log_time;
    out += "\",\"method\":\"";
    out.append(x.method.data(), x.method_len);
    out += "\",\"target\":\"";
    append_json_text(out, {x.target.data(), x.target_len});
    out += "\",\"route\":\"";
    out += stats && !stats->route_id.empty() ? std::string_view(stats->route_id) : std::string_view("-");
    out += "\",\"mode\":\"";
    out += to_string(mode);
    out += "\",\"upstream\":\"";
    out += target ? std::string_view(target->name) : std::string_view("-");
    std::snprintf(num, sizeof num, "\",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f", status,
                  static_cast<unsigned long long>(bytes), seconds * 1000.0);
    out += num;
    out += ",\"request_id\":\"";
    out += request_id;
    out += "\",\"trace_id\":\"";
    out += trace_id;
    out += "\"}\n";
    if (out.size() > 32 * 1024) w.flush_log();
  }

  // A body that is already complete in `buf` (none, or a Content-Length one that arrived with its
  // head): the bytes to send; nullopt when relay() has to stream it.
  static std::optional<std::string_view> whole_body(const io_buffer& buf, http1::body_kind kind,
                                                    std::uint64_t length) noexcept {
    if (kind == http1::body_kind::none) return std::string_view();
    if (kind == http1::body_kind::length && length <= buf.size())
      return buf.readable().substr(0, static_cast<std::size_t>(length));
    return std::nullopt;
  }
  // After a whole body went out: what relay() does with the bytes it sent.
  static std::uint64_t took_whole_body(io_buffer& buf, std::string_view body, capture* tee) {
    if (tee) tee->take(body);
    buf.consume(body.size());
    return body.size();
  }

  // Relays a body framed as `kind` from `from` to `to`; `buf` holds bytes already read. `prefix`
  // (a message head) goes out with the first body bytes in one write.
  asio::awaitable<relay_result> relay(tcp::socket& from, io_buffer& buf, tcp::socket& to, http1::body_kind kind,
                                      std::uint64_t length, deadline& dl, std::chrono::milliseconds read_timeout,
                                      std::string_view prefix, std::uint64_t& relayed, std::uint64_t limit = 0,
                                      capture* tee = nullptr, bool head_waits_for_body = false) {
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
          auto [wec, wn] = co_await write_all(to, dl, opt.body_timeout, head, part);
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

  // One direction of a tunnel: whatever arrives on `from` goes to `to`, until either fails.
  asio::awaitable<void> pipe(tcp::socket& from, io_buffer& buf, tcp::socket& to, deadline& dl) {
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
      dl.when = coarse_now() + opt.idle_timeout;  // traffic either way keeps the tunnel open
    }
  }

  // After 101 Switching Protocols: bytes flow both ways until one side closes (then both close)
  // or neither sends for idle_timeout.
  asio::awaitable<void> tunnel(tcp::socket& client, io_buffer& client_buf, tcp::socket& up, io_buffer& up_buf,
                               deadline& dl, std::string_view response_head) {
    using namespace asio::experimental::awaitable_operators;
    auto [ec, n] = co_await write_all(client, dl, opt.body_timeout, response_head);
    if (ec) co_return;
    dl.arm(client, opt.idle_timeout);
    co_await (pipe(client, client_buf, up, dl) || pipe(up, up_buf, client, dl));
  }

  // Reads until a complete head is parsed (or refused): incomplete means the client went away.
  asio::awaitable<http1::parse_state> read_head(worker& w, tcp::socket& client, io_buffer& in, deadline* dl,
                                                http1::request_head& req, http1::error& perr) {
    http1::parse_state st;
    dl->arm(client, opt.header_timeout);
    while ((st = http1::parse_request(in.readable(), req, perr, limits)) == http1::parse_state::incomplete) {
      if (in.full()) w.grow(in);
      auto [ec, n] = co_await client.async_read_some(in.writable(), use_tuple);
      if (ec) {
        if (dl->fired && in.size() > 0) {
          perr = {408, "request_timeout", "request head not received in time"};
          co_return http1::parse_state::failed;
        }
        co_return http1::parse_state::incomplete;
      }
      in.commit(n);
    }
    co_return st;
  }

  // The proxy's own error answer; the connection closes after it.
  asio::awaitable<void> send_error(tcp::socket& client, deadline* dl, std::string& reply, int status,
                                   std::string_view code, std::string_view message, std::string_view request_id) {
    reply.clear();
    write_error_response(status, code, message, request_id, true, reply);
    co_await write_all(client, *dl, opt.body_timeout, reply);
  }

  enum class queue_outcome { slot, pooled, timed_out };
  // Waits, up to the queue timeout, for a pooled connection or a slot for a new one. Only taken
  // when the upstream's connection cap is reached, so its frame may come from the heap.
  asio::awaitable<queue_outcome> wait_for_connection(worker& w, exchange& x, upstream& u, bool probe) {
    const auto until = clock_type::now() + opt.queue_timeout;
    slot_waiter me{asio::steady_timer(w.ioc)};
    auto& waiters = w.pool_of(u).waiters;
    const auto at = waiters.insert(waiters.end(), &me);
    u.connections.waiting.fetch_add(1, std::memory_order_relaxed);
    auto outcome = queue_outcome::timed_out;
    for (;;) {
      // First come, first served: only the head of this thread's queue takes what is free.
      if (waiters.front() == &me) {
        if (w.take_pooled(x, u, probe)) {
          outcome = queue_outcome::pooled;
          break;
        }
        if (w.take_slot(x, u)) {
          outcome = queue_outcome::slot;
          break;
        }
      }
      if (clock_type::now() >= until) break;
      me.timer.expires_at(until);
      co_await me.timer.async_wait(use_tuple);  // cancelled: something freed, or this one is first now
    }
    u.connections.waiting.fetch_sub(1, std::memory_order_relaxed);
    const bool was_first = at == waiters.begin();
    waiters.erase(at);
    // The next one is first now; what woke this request may suit it too.
    if (was_first) w.wake_first(w.pool_of(u));
    co_return outcome;
  }

  // Sends the request upstream and reads the response head into x.res. A failure is typed
  // (upstream_failure.hpp) and after_failure() says what follows: retry, fall back to the monolith,
  // or stop; the outcome is left in x (failed, failure, failure_step, upstream_untouched). Its own
  // coroutine to keep each frame small enough for Asio's frame recycling.
  asio::awaitable<void> send_upstream(worker& w, exchange& xr, tcp::socket& client, io_buffer& in, deadline* dl,
                                      tcp::socket& up) {
    exchange* const x = &xr;
    auto& target = x->target_upstream;
    http1::response_head& res = x->res;
    x->failed = false;
    x->upstream_untouched = false;
    attempt_facts facts;
    facts.safe = x->safe;
    facts.idempotent = x->idempotent;
    facts.has_body = x->body != http1::body_kind::none;
    facts.fallback_allowed = opt.fallback_to_monolith && x->snap->monolith;
    // A request that cannot be sent twice checks a pooled connection before using it.
    const bool probe_pooled = !(facts.idempotent && !facts.has_body);
    error_code ec_ignored;
    for (int attempt = 0;; ++attempt) {
      bool failed = false, reused = false;
      failure_kind kind = failure_kind::connect_refused;
      if (x->to_service && !target->healthy.load(std::memory_order_relaxed)) {
        failed = true;
        kind = failure_kind::service_unhealthy;
      } else if (x->to_service && !target->breaker.allow(steady_ms())) {
        failed = true;
        kind = failure_kind::circuit_open;
      } else {
        // While requests queue for this upstream, a newcomer queues behind them instead of taking
        // the connection or slot they were woken for.
        const bool queue_first = target->connections.waiting.load(std::memory_order_relaxed) > 0;
        reused = attempt == 0 && !queue_first && w.take_pooled(*x, *target, probe_pooled);
        if (!reused && (queue_first || !w.take_slot(*x, *target))) {
          // The upstream has all the connections it may have: queue for one.
          const auto got = co_await wait_for_connection(w, *x, *target, probe_pooled);
          if (got == queue_outcome::timed_out) {
            target->connections.saturated.fetch_add(1, std::memory_order_relaxed);
            failed = true;
            kind = failure_kind::saturated;
          }
          reused = got == queue_outcome::pooled;
        }
        if (!failed && !reused) {
          dl->arm(up, opt.connect_timeout);
          auto [cec] = co_await up.async_connect(
              tcp::endpoint(asio::ip::make_address(target->host, ec_ignored), target->port), use_tuple);
          if (cec) {
            failed = true;
            kind = dl->fired ? failure_kind::connect_timeout : failure_kind::connect_refused;
          } else {
            up.set_option(tcp::no_delay(true), ec_ignored);
          }
        }
        if (!failed) {
          std::uint64_t sent = 0;
          relay_result r;
          if (const auto whole = whole_body(in, x->body, x->body_length)) {  // as for responses (serve_request)
            std::string_view head = x->head_out, rest = *whole;
            error_code wec;
            if (!send_now(up, head, rest)) std::tie(wec, std::ignore) = co_await write_all(up, *dl, opt.body_timeout, head, rest);
            r = wec ? relay_result::sink_failed : relay_result::ok;
            if (!wec) sent = took_whole_body(in, *whole, x->req_cap.active ? &x->req_cap : nullptr);
          } else {
            r = co_await relay(client, in, up, x->body, x->body_length, *dl, opt.body_timeout, x->head_out, sent,
                               opt.max_body_bytes, x->req_cap.active ? &x->req_cap : nullptr, true);
          }
          failed = r != relay_result::ok;
          if (r == relay_result::too_large) kind = failure_kind::body_too_large;  // the upstream never sees its end
          else if (r == relay_result::framing) kind = failure_kind::bad_chunked_body;
          else if (r == relay_result::source_failed || r == relay_result::timeout) kind = failure_kind::client_gone;
          else if (r == relay_result::sink_failed) kind = failure_kind::send_failed;
          // relay sends the head with the first body bytes: a client failing before them left the
          // upstream connection untouched.
          x->upstream_untouched = failed && is_client_fault(kind) && sent == 0;
        }
        if (!failed) {
          // Read the response head, skipping interim 1xx answers (Expect was answered here).
          x->upbuf.consume(x->upbuf.size());
          dl->arm(up, opt.upstream_timeout);
          for (;;) {
            http1::error rerr;
            const auto rst = http1::parse_response(x->upbuf.readable(), x->is_head ? "HEAD" : "GET", res, rerr, limits);
            if (rst == http1::parse_state::complete) {
              if (res.status >= 100 && res.status < 200 && res.status != 101) {
                x->upbuf.consume(res.head_bytes);
                continue;
              }
              break;
            }
            if (rst == http1::parse_state::failed) {
              failed = true;
              kind = failure_kind::bad_response;
              break;
            }
            auto [rec, n] = co_await up.async_read_some(x->upbuf.writable(), use_tuple);
            if (rec) {
              failed = true;
              kind = dl->fired ? failure_kind::response_timeout : failure_kind::closed_before_response;
              break;
            }
            x->upbuf.commit(n);
          }
        }
        if (failed && is_upstream_fault(kind)) count_upstream_failure(*x);
      }
      if (!failed) break;
      facts.reused_connection = reused;
      facts.attempt = attempt;
      facts.to_service = x->to_service;
      const next_step step = after_failure(kind, facts);
      if (step == next_step::retry) {  // a stale pooled connection, the usual cause: once, on a fresh one
        w.close_upstream(*x);
        continue;
      }
      if (step == next_step::fall_back) {  // a safe request whose service failed: the monolith serves it
        w.close_upstream(*x);
        target = x->snap->monolith;
        x->to_service = false;
        attempt = -1;
        continue;
      }
      x->failed = true;
      x->failure = kind;
      x->failure_step = step;
      break;
    }
  }

  static void count_upstream_failure(exchange& x) {
    x.target_upstream->failures.fetch_add(1, std::memory_order_relaxed);
    if (x.to_service) x.target_upstream->breaker.on_failure(steady_ms());
  }

  // One request and its response, after the first bytes arrived. Its own coroutine so that an idle
  // connection keeps only the small frame of session(): this frame lives for one request and comes
  // from Asio's recycling allocator. Returns whether the connection may carry another request.
  asio::awaitable<bool> serve_request(worker& w, tcp::socket& client, io_buffer& in,
                                      deadline* dl, std::string& reply,
                                      std::string_view client_addr) {
    auto x = w.take_exchange();
    x->rid = {};
    x->trace = {};
    x->method_len = x->target_len = 0;  // a pooled exchange still holds the last request's
    x->shadow_copy = false;
    x->req_cap.active = x->res_cap.active = false;
    // The proxy's own error answers all leave through `fail` at the end: one co_await site keeps
    // this frame small enough for Asio's frame recycling (no allocation per request).
    int fail_status = 0;
    const char* fail_code = "";
    const char* fail_message = "";
    route_stats* stats = nullptr;
    route_mode mode = route_mode::monolith;
    bool upstream_known = false;  // the failure concerns x->target_upstream
    clock_type::time_point started{};
    {
    // Read and parse the head.
    http1::request_head& req = x->req;
    http1::error& perr = x->perr;
    perr = {};
    const http1::parse_state st = co_await read_head(w, client, in, dl, req, perr);
    if (st == http1::parse_state::incomplete) {  // the client went away
      w.give_exchange(std::move(x));
      co_return false;
    }
    started = clock_type::now();
    x->snap = state.load();
    const auto& snap = x->snap;
    stats = snap ? snap->unmatched.get() : nullptr;
    if (st == http1::parse_state::failed) {
      fail_status = perr.status;
      fail_code = perr.code;
      fail_message = perr.message;
      goto fail;
    }
    x->rid = choose_request_id(req);
    x->trace = continue_trace(req);
    const auto& rid = x->rid;
    const auto& trace = x->trace;
    if (opt.access_log_fd >= 0) {
      x->method_len = std::min(req.method.size(), x->method.size());
      std::copy_n(req.method.data(), x->method_len, x->method.data());
      x->target_len = std::min(req.target.size(), x->target.size());
      std::copy_n(req.target.data(), x->target_len, x->target.data());
    }
    if (opt.max_body_bytes && req.body == http1::body_kind::length && req.content_length > opt.max_body_bytes) {
      fail_status = 413;
      fail_code = "body_too_large";
      fail_message = "request body exceeds the limit";
      goto fail;
    }

    // One spelling per path: what is matched is what the upstream gets.
    const path_result path = normalize_target(req.target, x->normalized_target);
    if (path.verdict == path_verdict::refused) {
      fail_status = 400;
      fail_code = path.code;
      fail_message = path.message;
      goto fail;
    }
    const std::string_view target_path = path.verdict == path_verdict::normalized ? x->normalized_target : req.target;

    // Route (route_decision.hpp decides; here it is carried out).
    x->target_upstream = snap ? snap->monolith : nullptr;
    auto& target = x->target_upstream;
    bool& to_service = x->to_service;
    decision_inputs din;
    din.table = snap ? snap->table.get() : nullptr;
    din.method = req.method;
    din.path = target_path;
    din.client_address = client_addr;
    din.mirror = opt.mirror != nullptr;
    din.sample_state = &w.rng;
    const route_decision d = decide_route(din, req);
    to_service = d.to_service;
    x->safe = d.safe;
    x->idempotent = d.idempotent;
    if (d.matched) {
      stats = snap->stats_of[d.index].get();
      mode = d.mode;
      if (to_service) target = snap->service_of[d.index];
      take_copy_decision(*x, d, stats, req.method, target_path);
    }
    if (!target) {
      fail_status = 503;
      fail_code = "no_upstream";
      fail_message = "no monolith is configured";
      goto fail;
    }

    // Everything needed after the head's bytes may move is copied out now.
    // A WebSocket upgrade passes through to the route's target; no other protocol switch does.
    const bool upgrade = upgrade_allowed(req);
    request_forwarding& fwd = x->fwd;
    fwd = {};
    fwd.upgrade = upgrade;
    if (path.verdict == path_verdict::normalized) fwd.target = target_path;
    fwd.upstream_host = target->authority;
    fwd.client_address = client_addr;
    fwd.request_id = rid.value();
    fwd.traceparent = trace.value();
    x->head_out.clear();
    write_request_head(req, fwd, x->head_out);
    if (x->shadow_copy) start_request_capture(*x, snap->table->routes()[x->shadow_route].shadow.max_compare_bytes);
    const bool is_head = req.method == "HEAD";
    const bool client_keep_alive = req.keep_alive;
    const int client_minor = req.version_minor;
    const auto body = req.body;
    const auto body_length = req.content_length;
    const bool expect_continue = req.expect_continue && body != http1::body_kind::none;
    in.consume(req.head_bytes);
    if (body != http1::body_kind::none && (body == http1::body_kind::chunked || body_length > in.size()))
      w.grow(in);  // the body streams through: use the large buffer
    if (expect_continue && in.size() == 0) {
      auto [cec, cn] = co_await write_all(client, *dl, opt.body_timeout, "HTTP/1.1 100 Continue\r\n\r\n");
      if (cec) {
        w.give_exchange(std::move(x));
        co_return false;
      }
    }

    // Send upstream: a pooled connection first; a fresh one when that fails before any answer.
    tcp::socket& up = x->up;
    http1::response_head& res = x->res;
    w.take_large(x->upbuf);
    x->is_head = is_head;
    x->body = body;
    x->body_length = body_length;
    co_await send_upstream(w, *x, client, in, dl, up);
    target->requests.fetch_add(1, std::memory_order_relaxed);

    if (x->failed) {
      if (x->upstream_untouched) w.give_pooled(*x);  // it carried nothing: keep it
      else w.close_upstream(*x);
      upstream_known = true;
      if (x->failure_step == next_step::close) {  // the client went away: nobody to answer
        finish(w, stats, mode, target.get(), to_service, 0, 0, started, *x, rid.value(), trace.trace_id());
        w.give_exchange(std::move(x));
        co_return false;
      }
      const failure_answer& a = answer_for(x->failure);
      fail_status = a.status;
      fail_code = a.code;
      fail_message = a.message;
      goto fail;
    }
    if (to_service) target->breaker.on_success(steady_ms());

    if (res.status == 101) {
      if (!upgrade) {  // nobody asked to switch protocols: after_failure() would say answer, always
        w.close_upstream(*x);
        upstream_known = true;
        const failure_answer& a = answer_for(failure_kind::unexpected_upgrade);
        fail_status = a.status;
        fail_code = a.code;
        fail_message = a.message;
        goto fail;
      }
      response_forwarding& rf = x->rf;
      rf = {};
      rf.request_id = rid.value();
      rf.upgrade = true;
      x->head_out.clear();
      write_response_head(res, rf, x->head_out);
      x->upbuf.consume(res.head_bytes);
      finish(w, stats, mode, target.get(), to_service, 101, 0, started, *x, rid.value(), trace.trace_id());
      co_await tunnel(client, in, up, x->upbuf, *dl, x->head_out);
      w.close_upstream(*x);
      w.give_exchange(std::move(x));
      co_return false;
    }

    // Relay the response.
    const bool close_after = !client_keep_alive || res.body == http1::body_kind::until_close || w.stopping;
    response_forwarding& rf = x->rf;
    rf = {};
    rf.request_id = rid.value();
    rf.close = close_after;
    rf.client_minor = client_minor;
    const std::size_t res_head_bytes = res.head_bytes;
    const bool upstream_keep_alive = res.keep_alive;
    const auto res_body = res.body;
    const auto res_length = res.content_length;
    x->head_out.clear();
    write_response_head(res, rf, x->head_out);
    // A reverse shadow's primary must still be the service (not a fallback to the monolith).
    if (x->shadow_copy && x->shadow_primary_monolith == !to_service)
      x->res_cap.start(x->upbuf.readable().substr(0, res_head_bytes),
                       x->snap->table->routes()[x->shadow_route].shadow.max_compare_bytes);
    x->upbuf.consume(res_head_bytes);
    std::uint64_t relayed = 0;
    relay_result r;
    bool answer_read = false;  // the upstream's whole answer is in: its connection is reusable
    if (const auto whole = whole_body(x->upbuf, res_body, res_length)) {
      // The usual small answer: head and body leave in one write, without relay's frame.
      std::string_view head = x->head_out, rest = *whole;
      error_code wec;
      if (!send_now(client, head, rest)) std::tie(wec, std::ignore) = co_await write_all(client, *dl, opt.body_timeout, head, rest);
      r = wec ? relay_result::sink_failed : relay_result::ok;
      if (!wec) relayed = took_whole_body(x->upbuf, *whole, x->res_cap.active ? &x->res_cap : nullptr);
      else x->upbuf.consume(whole->size());  // the client left; the upstream finished its answer
      answer_read = true;
    } else {
      r = co_await relay(up, x->upbuf, client, res_body, res_length, *dl, opt.upstream_timeout, x->head_out, relayed,
                         0, x->res_cap.active ? &x->res_cap : nullptr);
    }
    // The upstream failing after its head went out is its fault (failure_kind::reset_mid_response);
    // the answer has started, so all that is left is to close (after_failure: response_started).
    if (r == relay_result::source_failed || r == relay_result::timeout || r == relay_result::framing)
      count_upstream_failure(*x);
    finish(w, stats, mode, target.get(), to_service, res.status, relayed, started, *x, rid.value(), trace.trace_id());
    if (x->res_cap.active && r == relay_result::ok) offer_copy(*x, stats, started);
    x->req_cap.active = x->res_cap.active = false;
    if ((r == relay_result::ok || answer_read) && upstream_keep_alive && x->upbuf.size() == 0 && !w.stopping) {
      w.give_pooled(*x);
    } else {
      w.close_upstream(*x);
    }
    w.give_exchange(std::move(x));
    if (r != relay_result::ok) co_return false;  // the head is out: all we can do is close
    co_return !close_after;
    }
  fail:
    co_await send_error(client, dl, reply, fail_status, fail_code, fail_message, x->rid.value());
    finish(w, stats, mode, upstream_known ? x->target_upstream.get() : nullptr, upstream_known && x->to_service,
           fail_status, 0, started, *x, x->rid.value(), x->rid.len ? x->trace.trace_id() : std::string_view());
    w.give_exchange(std::move(x));
    co_return false;
  }

  asio::awaitable<void> session(worker& w, tcp::socket client) {
    ++active;
    error_code ec_ignored;
    client.set_option(tcp::no_delay(true), ec_ignored);
    char client_ip[64] = {};
    std::size_t client_ip_len = 0;
    {
      const auto ep = client.remote_endpoint(ec_ignored);
      if (!ec_ignored) {
        const auto text = ep.address().to_string();
        client_ip_len = std::min(text.size(), sizeof client_ip);
        std::copy_n(text.data(), client_ip_len, client_ip);
      }
    }
    const std::string_view client_addr(client_ip, client_ip_len);
    connection_ctl ctl{&client, true, {}};
    auto ctl_it = w.connections.insert(w.connections.end(), &ctl);
    deadline* dl = &ctl.dl;

    io_buffer in;
    std::array<char, 512> first_bytes;  // an idle connection's only buffer
    std::string reply;  // the proxy's own error responses (rare)
    bool keep_alive = true;
    while (keep_alive && !w.stopping) {
      // Wait for the next request holding no pooled memory: the first bytes land in a small array
      // in this frame (one recv, as Asio's speculative read allows), then move to a pooled buffer.
      ctl.idle = in.size() == 0;
      if (ctl.idle) {
        if (in.has_storage()) w.give_buffer(in);
        dl->arm(client, opt.idle_timeout);
        auto [ec, n] = co_await client.async_read_some(asio::buffer(first_bytes), use_tuple);
        if (ec || w.stopping) break;
        ctl.idle = false;
        w.take_small(in);
        if (n > in.writable().size()) w.grow(in);
        std::memcpy(in.writable().data(), first_bytes.data(), n);
        in.commit(n);
      }
      w.take_small(in);

      keep_alive = co_await serve_request(w, client, in, dl, reply, client_addr);
      dl->disarm();  // the request's upstream socket is gone
    }

    error_code ignored;
    client.shutdown(tcp::socket::shutdown_send, ignored);
    client.close(ignored);
    if (in.size() != 0) in.consume(in.size());
    w.give_buffer(in);
    w.connections.erase(ctl_it);
    --active;
  }
};

data_plane::data_plane(data_plane_options options, routing_state& state)
    : impl_(std::make_unique<impl>(std::move(options), state)) {
  // Before anyone can learn the address: a SIGTERM right after "listening on" must drain, not kill.
  impl& s = *impl_;
  if (s.opt.handle_signals) {
    s.signals = std::make_unique<asio::signal_set>(s.signal_ctx, SIGINT, SIGTERM);
    s.signals->async_wait([this](const error_code& ec, int) {
      if (!ec) stop();
    });
  }
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
