#pragma once
// Deadlines on the data plane: one per connection, armed with two stores and enforced by the
// worker's sweep, so an idle connection owns no timer.
#include <boost/asio/ip/tcp.hpp>

#include <time.h>
#include <chrono>

namespace banyan::proxy {

using clock_type = std::chrono::steady_clock;

// Deadlines are seconds long: the coarse clock (same epoch as steady_clock, ms resolution) is a
// fraction of the cost of a precise reading, and it is read several times per request.
inline clock_type::time_point coarse_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock_type::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

// One deadline per connection, enforced by its worker's sweep (every 100 ms) rather than a timer
// of its own: arming is two stores, and an idle connection owns no timer, operation or coroutine.
// On expiry the sweep cancels the target socket's pending operation (never closes it, so a
// 408/504 can still be written).
struct deadline {
  clock_type::time_point when = clock_type::time_point::max();
  boost::asio::ip::tcp::socket* target = nullptr;
  bool fired = false;

  void arm(boost::asio::ip::tcp::socket& s, std::chrono::milliseconds timeout) noexcept {
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
    boost::system::error_code ignored;
    target->cancel(ignored);
  }
};

}  // namespace banyan::proxy
