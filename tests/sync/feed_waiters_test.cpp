#include "banyan/sync/feed_waiters.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

using banyan::sync::feed_waiters;
using namespace std::chrono_literals;

namespace {
// Waits well past any scheduling delay: a waiter that returns sooner was woken, not timed out.
constexpr auto long_wait = 20s;

template <class F>
bool returns_within(F& f, std::chrono::seconds limit) {
  return f.wait_for(limit) == std::future_status::ready;
}

void wait_until_waiting(const feed_waiters& w, int n) {
  while (w.waiting() < n) std::this_thread::sleep_for(1ms);
}
}  // namespace

TEST_CASE("feed waiters: a wait ends when the watcher reads a head past the position", "[sync][long-poll]") {
  std::atomic<std::int64_t> head{5};
  feed_waiters w([&] { return head.load(); }, 2);
  auto waited = std::async(std::launch::async, [&] { return w.wait_past(5, 5, long_wait); });
  wait_until_waiting(w, 1);
  CHECK_FALSE(returns_within(waited, 0s));
  head = 6;  // a commit the watcher reads
  REQUIRE(returns_within(waited, 10s));
  CHECK(waited.get());
  CHECK(w.waiting() == 0);
}

TEST_CASE("feed waiters: notify wakes at once, a head that is already past does not wait", "[sync][long-poll]") {
  feed_waiters w([] { return std::int64_t{0}; }, 2);  // the watcher never sees a change
  auto waited = std::async(std::launch::async, [&] { return w.wait_past(10, 10, long_wait); });
  wait_until_waiting(w, 1);
  w.notify(11);
  REQUIRE(returns_within(waited, 10s));
  CHECK(waited.get());
  // The head seen is 11 now: a follower at 10 is not held.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(w.wait_past(10, 10, long_wait));
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

TEST_CASE("feed waiters: past the slots, and with no wait asked, a request is answered at once", "[sync][long-poll]") {
  feed_waiters w([] { return std::int64_t{0}; }, 1);
  CHECK_FALSE(w.wait_past(0, 0, 0ms));
  auto first = std::async(std::launch::async, [&] { return w.wait_past(0, 0, long_wait); });
  wait_until_waiting(w, 1);
  CHECK_FALSE(w.wait_past(0, 0, long_wait));  // the one slot is taken
  w.stop();                                   // the server drains: every waiter answered now
  REQUIRE(returns_within(first, 10s));
  CHECK(first.get());
  CHECK_FALSE(w.wait_past(0, 0, long_wait));  // and nobody waits any more
}

TEST_CASE("feed waiters: a head that cannot be read keeps the waiter until a read succeeds", "[sync][long-poll]") {
  std::atomic<int> reads{0};
  feed_waiters w(
      [&]() -> std::int64_t {
        if (++reads < 5) throw std::runtime_error("database is locked");
        return 3;
      },
      1);
  auto waited = std::async(std::launch::async, [&] { return w.wait_past(2, 2, long_wait); });
  REQUIRE(returns_within(waited, 10s));
  CHECK(waited.get());
  CHECK(reads.load() >= 5);
}
