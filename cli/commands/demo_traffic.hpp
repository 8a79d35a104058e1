#pragma once
// `banyan demo`'s simulated users: each on its own keep-alive connection to the proxy, with its own
// X-User-Id (the plan's canary key), browsing listings, searching, viewing products, placing
// orders, and a few of them editing products — at a steady rate, until stopped.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace banyan::cli {

class demo_traffic {
 public:
  // `users` users in all, `per_second` requests each. Products 1..`products` exist (the seed's).
  demo_traffic(std::string proxy_url, int users, double per_second, int products);
  ~demo_traffic();  // stops
  void stop();
  // From now on staff also add products (and remove some they added). Until then they only edit:
  // a new product changes every listing's total, which no version can tell apart from a bug while
  // reads are shadowed.
  void allow_new_products() noexcept { new_products_ = true; }

  struct counts {
    std::uint64_t requests = 0;
    std::uint64_t failed = 0;    // no answer, or 5xx
    std::uint64_t refused = 0;   // 4xx the shop meant (an order for a product out of stock)
    std::uint64_t writes = 0;    // product edits and orders acknowledged
  };
  counts totals() const;
  // The first failures, in words (what, status, body), for the summary.
  std::vector<std::string> failures() const;

 private:
  void user(int n);
  std::string proxy_url_;
  int users_, products_;
  double per_second_;
  std::atomic<bool> stop_{false}, new_products_{false};
  std::atomic<std::uint64_t> requests_{0}, failed_{0}, refused_{0}, writes_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace banyan::cli
