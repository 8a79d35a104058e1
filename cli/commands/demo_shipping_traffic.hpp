#pragma once
// `banyan demo --extract shipping`'s users: shoppers who sign up (with an address), order, and look
// at their orders' shipments a moment later, and carriers who report pickups — each on its own
// keep-alive connection to the proxy, with its own X-User-Id, at a steady rate, until stopped.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banyan::cli {

class demo_shipping_traffic {
 public:
  // `users` in all (one in four a carrier), `per_second` requests each; products 1..`products`.
  demo_shipping_traffic(std::string proxy_url, int users, double per_second, int products);
  ~demo_shipping_traffic();  // stops
  void stop();

  struct counts {
    std::uint64_t requests = 0;
    std::uint64_t failed = 0;   // no answer, or 5xx
    std::uint64_t refused = 0;  // 4xx the shop meant (out of stock, a pickup reported twice)
    std::uint64_t orders = 0;   // orders placed
    std::uint64_t pickups = 0;  // carriers' reports taken
  };
  counts totals() const;
  std::vector<std::string> failures() const;

 private:
  void user(int n);
  std::string proxy_url_;
  int users_, products_;
  double per_second_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0}, failed_{0}, refused_{0}, orders_{0}, pickups_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  // Orders placed, and when: shoppers look at a shipment, and carriers pick one up, only once it is
  // a moment old (a shipment read the instant it was booked is the sync's lag, not a difference).
  std::vector<std::pair<std::int64_t, std::chrono::steady_clock::time_point>> placed_;
  std::size_t next_pickup_ = 0;  // placed_[next_pickup_] is the next a carrier picks up
  std::vector<std::thread> threads_;
};

}  // namespace banyan::cli
