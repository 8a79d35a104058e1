#include "banyan/sync/feed_waiters.hpp"

#include "banyan/platform/log.hpp"

#include <algorithm>
#include <exception>

namespace banyan::sync {

feed_waiters::feed_waiters(std::function<std::int64_t()> read_head, int slots, metrics::gauge* waiting)
    : read_head_(std::move(read_head)), slots_(std::max(0, slots)), gauge_(waiting) {}

feed_waiters::~feed_waiters() { stop(); }

bool feed_waiters::wait_past(std::int64_t after, std::int64_t head_now, std::chrono::milliseconds wait) {
  if (wait.count() <= 0) return false;
  std::unique_lock lock(mutex_);
  if (stopping_ || waiting_ >= slots_) return false;
  if (!watcher_.joinable()) watcher_ = std::thread([this] { watch(); });
  ++waiting_;
  if (gauge_) gauge_->set(waiting_);
  head_seen_ = std::max(head_seen_, head_now);
  changed_.notify_all();  // the watcher may be idle
  changed_.wait_for(lock, wait, [&] { return stopping_ || head_seen_ > after; });
  --waiting_;
  if (gauge_) gauge_->set(waiting_);
  return true;
}

void feed_waiters::notify(std::int64_t head) {
  std::lock_guard lock(mutex_);
  if (head <= head_seen_) return;
  head_seen_ = head;
  changed_.notify_all();
}

void feed_waiters::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

int feed_waiters::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

void feed_waiters::watch() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_.wait(lock, [&] { return stopping_ || waiting_ > 0; });
    if (stopping_) break;
    lock.unlock();
    std::int64_t h = -1;
    try {
      h = read_head_();
    } catch (const std::exception& e) {
      log::warn("cannot read the feed's head", {{"error", e.what()}});
    }
    lock.lock();
    // The head only moves forward here: a read that raced an in-process notify must not take a
    // waiter's wake-up back.
    if (h > head_seen_) {
      head_seen_ = h;
      changed_.notify_all();
    }
    changed_.wait_for(lock, std::chrono::milliseconds(2), [&] { return stopping_; });
  }
}

}  // namespace banyan::sync
