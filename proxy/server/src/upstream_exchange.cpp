#include "data_plane_impl.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/proxy/upstream_failure.hpp"

#include <tuple>

namespace banyan::proxy {

// Waits, up to the queue timeout, for a pooled connection or a slot for a new one. Only taken
// when the upstream's connection cap is reached, so its frame may come from the heap.
asio::awaitable<data_plane::impl::queue_outcome> data_plane::impl::wait_for_connection(worker& w, exchange& x,
                                                                                       upstream& u, bool probe) {
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
asio::awaitable<void> data_plane::impl::send_upstream(worker& w, exchange& xr, tcp::socket& client, io_buffer& in,
                                                      deadline* dl, tcp::socket& up) {
  exchange* const x = &xr;
  auto& target = x->target_upstream;
  http1::response_head& res = x->res;
  x->failed = false;
  x->upstream_untouched = false;
  // A request that cannot be sent twice checks a pooled connection before using it.
  const bool probe_pooled = !(x->idempotent && x->body == http1::body_kind::none);
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
          if (!send_now(up, head, rest))
            std::tie(wec, std::ignore) = co_await write_all(up, *dl, opt.body_timeout, head, rest);
          r = wec ? relay_result::sink_failed : relay_result::ok;
          if (!wec) sent = took_whole_body(in, *whole, x->req_cap.active ? &x->req_cap : nullptr);
        } else {
          r = co_await relay(client, in, up, x->body, x->body_length, *dl, opt.body_timeout, opt.body_timeout,
                             x->head_out, sent, opt.max_body_bytes, x->req_cap.active ? &x->req_cap : nullptr, true);
        }
        failed = r != relay_result::ok;
        if (r == relay_result::too_large)
          kind = failure_kind::body_too_large;  // the upstream never sees its end
        else if (r == relay_result::framing)
          kind = failure_kind::bad_chunked_body;
        else if (r == relay_result::source_failed || r == relay_result::timeout)
          kind = failure_kind::client_gone;
        else if (r == relay_result::sink_failed)
          kind = failure_kind::send_failed;
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
    const next_step step = next_after_failure(*x, kind, reused, attempt);
    if (step == next_step::retry) {  // a stale pooled connection, the usual cause: once, on a fresh one
      w.close_upstream(*x);
      continue;
    }
    if (step == next_step::fall_back) {  // a safe request whose service failed: the monolith serves it
      // The service was asked and failed (not: avoided as unhealthy or behind an open circuit,
      // which says nothing of its answers and would hold a recovered canary's gate failing).
      if (x->route && is_upstream_fault(kind)) x->route->record_masked_failure(x->mode);
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

// Not a coroutine: the facts live on the stack, not in send_upstream's frame (see route_request).
next_step data_plane::impl::next_after_failure(const exchange& x, failure_kind kind, bool reused, int attempt) const {
  attempt_facts f;
  f.safe = x.safe;
  f.idempotent = x.idempotent;
  f.has_body = x.body != http1::body_kind::none;
  f.reused_connection = reused;
  f.attempt = attempt;
  f.to_service = x.to_service;
  f.fallback_allowed = opt.fallback_to_monolith && x.snap->monolith;
  return after_failure(kind, f);
}

void data_plane::impl::count_upstream_failure(exchange& x) {
  x.target_upstream->failures.fetch_add(1, std::memory_order_relaxed);
  if (x.to_service) x.target_upstream->breaker.on_failure(steady_ms());
}

}  // namespace banyan::proxy
