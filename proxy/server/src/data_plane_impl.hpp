#pragma once
// The data plane's inside, shared by the files that hold its jobs (each named for it):
//   data_plane.cpp         workers, listeners, housekeeping, drain
//   session.cpp            a client connection and each request's story: head, route, upstream, answer
//   write_hold.cpp         a write waiting for a write cut-over barrier (admin plane: write_cutover.hpp)
//   upstream_exchange.cpp  sending a request upstream under the connection cap, retry and fallback
//   shadow_capture.cpp     the bytes kept for a shadow copy and their hand-off to the mirror
//   access_log.cpp         per-route figures and the access log line
//   byte_relay.*           moving bodies and tunnels; worker.hpp: the pools; exchange.hpp: a request
// Coroutine frames are kept small: Asio recycles frames up to ~1 KiB per thread, so a request
// allocates nothing as long as each coroutine's locals stay under it. That is why per-request
// state lives in the pooled exchange, why send_upstream and serve_request are separate coroutines,
// and why the proxy's own errors leave serve_request through one co_await.
#include "banyan/proxy/data_plane.hpp"
#include "banyan/proxy/route_decision.hpp"
#include "byte_relay.hpp"
#include "worker.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <memory>
#include <vector>

// GCC 12 reports Asio's own frame deallocation as mismatched with its aligned_alloc once it inlines
// the recycling allocator into a coroutine (it did so for serve_request after the split): Asio's
// operator delete frees the block with the matching aligned_delete, so the warning is false. The
// same warning, silenced the same way: erigontech/silkworm#2046, ceph/ceph#64962.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace banyan::proxy {

struct data_plane::impl {
  data_plane_options opt;
  routing_state& state;
  http1::limits limits;
  std::vector<std::unique_ptr<worker>> workers;
  std::atomic<std::uint64_t> active{0};
  std::atomic<bool> stop_requested{false};
  asio::io_context signal_ctx{1};
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::signal_set> hangups;  // SIGHUP: reopen the access log
  void reopen_access_log_on_hangup();

  // Binds every worker's listener (SO_REUSEPORT); throws std::system_error when it cannot.
  impl(data_plane_options o, routing_state& s);

  // data_plane.cpp
  // Each worker's housekeeping, ten times a second: expire deadlines, flush the access log, and
  // notice a stop request (the only cross-thread signal a worker takes).
  asio::awaitable<void> housekeeping(worker& w);
  asio::awaitable<void> accept_loop(worker& w);
  void begin_stop(worker& w);

  // session.cpp
  bool admit_request(exchange& x, failure_answer& refusal);
  void write_forward_head(exchange& x, bool upgrade, std::string_view client_addr);
  void write_answer_head(exchange& x, bool close_after, int client_minor);
  // Decides where x.req goes (route_decision.hpp) and sets x's target, stats and mode from it.
  // False when a write cut-over barrier holds the request's writes (stats is then its route's):
  // wait with hold_write(), then route it again.
  bool route_request(worker& w, exchange& x, std::string_view path, std::string_view client_addr, route_stats*& stats,
                     route_mode& mode);
  // write_hold.cpp
  // A write the barrier holds waits here until the barrier switches or gives up, then takes the
  // routing in force (also when only the routing changed since its snapshot); false when it
  // held past its limit (the barrier did not finish: answer 503 rather than guess an owner).
  asio::awaitable<bool> hold_write(exchange& x, route_stats& held);
  asio::awaitable<void> session(worker& w, tcp::socket client);
  // One request and its response, after the first bytes arrived. Its own coroutine so that an idle
  // connection keeps only the small frame of session(): this frame lives for one request and comes
  // from Asio's recycling allocator. Returns whether the connection may carry another request.
  asio::awaitable<bool> serve_request(worker& w, tcp::socket& client, io_buffer& in, deadline* dl, std::string& reply,
                                      std::string_view client_addr);
  // Reads until a complete head is parsed (or refused): incomplete means the client went away.
  asio::awaitable<http1::parse_state> read_head(worker& w, tcp::socket& client, io_buffer& in, deadline* dl,
                                                http1::request_head& req, http1::error& perr);
  // The proxy's own error answer; the connection closes after it.
  asio::awaitable<void> send_error(tcp::socket& client, deadline* dl, std::string& reply, int status,
                                   std::string_view code, std::string_view message, std::string_view request_id);

  // upstream_exchange.cpp
  enum class queue_outcome { slot, pooled, timed_out };
  // Waits, up to the queue timeout, for a pooled connection or a slot for a new one. Only taken
  // when the upstream's connection cap is reached, so its frame may come from the heap.
  asio::awaitable<queue_outcome> wait_for_connection(worker& w, exchange& x, upstream& u, bool probe);
  // Sends the request upstream and reads the response head into x.res. A failure is typed
  // (upstream_failure.hpp) and after_failure() says what follows: retry, fall back to the monolith,
  // or stop; the outcome is left in x (failed, failure, failure_step, upstream_untouched). Its own
  // coroutine to keep each frame small enough for Asio's frame recycling.
  asio::awaitable<void> send_upstream(worker& w, exchange& xr, tcp::socket& client, io_buffer& in, deadline* dl,
                                      tcp::socket& up);
  static void count_upstream_failure(exchange& x);

  next_step next_after_failure(const exchange& x, failure_kind kind, bool reused, int attempt) const;

  // shadow_capture.cpp
  // Carries out the decision's shadow choice: counts a copy not taken, or keeps what the copy needs.
  static void take_copy_decision(exchange& x, const route_decision& d, route_stats* stats, std::string_view method,
                                 std::string_view target);
  // The copy's head: the forwarded head, marked.
  static void start_request_capture(exchange& x, std::uint64_t limit);
  // Hands a finished exchange's capture to the mirror; counts it dropped when the queue is full.
  void offer_copy(exchange& x, route_stats* stats, clock_type::time_point started);

  // access_log.cpp
  // Counts the request on its route and, when enabled, adds its access log line.
  void finish(worker& w, route_stats* stats, route_mode mode, const upstream* target, bool service, int status,
              std::uint64_t bytes, clock_type::time_point started, const exchange& x, std::string_view request_id,
              std::string_view trace_id);
};

}  // namespace banyan::proxy
