#pragma once
// Long polls of a feed (GET /internal/events?…&wait=MS): a follower at the head is held until the
// feed's head passes its position, instead of sleeping a poll interval and asking again. The poll
// was the whole of sync lag (p99 152 ms at a 100 ms poll; 3.3 ms waiting, docs/performance.md).
//
// One watcher thread reads the head every 2 ms while anyone waits (one cheap read for all waiters),
// and a publisher that writes its feed in process may say so at once (notify). A waiting request
// holds its server thread: `slots` bounds how many may wait, and past that a request is answered at
// once (its follower then polls), so waiters never take the threads that serve everyone else.
#include "banyan/platform/metrics.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace banyan::sync {

class feed_waiters {
 public:
  // `read_head`: the feed's newest id (may throw: the watcher logs it and keeps the last head).
  // `waiting`: a gauge of the requests waiting, or null.
  feed_waiters(std::function<std::int64_t()> read_head, int slots, metrics::gauge* waiting = nullptr);
  ~feed_waiters();
  feed_waiters(const feed_waiters&) = delete;
  feed_waiters& operator=(const feed_waiters&) = delete;

  // Holds the caller until the head passes `after`, `wait` ends, or stop(). `head_now` is the head
  // the caller just read. False at once when no slot was free or `wait` is zero (nothing waited);
  // true when it waited (re-read the page: it may still be empty, the wait having ended).
  bool wait_past(std::int64_t after, std::int64_t head_now, std::chrono::milliseconds wait);
  // A commit in process moved the head: waiters wake now rather than at the next read.
  void notify(std::int64_t head);
  // Wakes every waiter for good (the server drains), and stops the watcher.
  void stop();
  int waiting() const;

 private:
  void watch();

  std::function<std::int64_t()> read_head_;
  const int slots_;
  metrics::gauge* gauge_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  std::int64_t head_seen_ = 0;
  bool stopping_ = false;
  std::thread watcher_;  // started with the first wait
};

}  // namespace banyan::sync
