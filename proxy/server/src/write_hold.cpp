// The data plane's side of the write cut-over barrier (cutover_barrier.hpp; the barrier itself runs
// in the admin plane, write_cutover.hpp): a write on a route whose writes are changing owner waits
// here. In a file of its own: in session.cpp, this coroutine's code changed what the compiler
// inlined on every request's path: +129 instructions per GET over the binary before the barrier,
// +36 with it here (bench/per-request-cost.sh, both in one run).
#include "data_plane_impl.hpp"

#include "banyan/platform/clock.hpp"

namespace banyan::proxy {

asio::awaitable<bool> data_plane::impl::hold_write(exchange& x, route_stats& held) {
  // Held writes look again every 2 ms: a barrier lasts milliseconds to seconds, and a wake-up
  // list across workers would cost more code than these timers cost time.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (bool counted = false;; counted = true) {
    const auto until = held.writes_held_until.load();
    if (until == 0) break;  // not held (any more); or only the routing changed since the snapshot
    if (!counted) held.writes_held.fetch_add(1, std::memory_order_relaxed);
    // The barrier releases by its limit, after persisting the change; a second more is its margin.
    if (steady_ms() > until + 1000) co_return false;
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(use_tuple);
  }
  x.snap = state.load();  // the routing the barrier left: the new owner's, or the old one's
  co_return true;
}

}  // namespace banyan::proxy
