#pragma once
// A Prometheus text-format metrics registry. Series are created once (under a lock) and then
// updated lock-free through the returned reference, which stays valid for the registry's lifetime:
// hot paths look a series up once and keep the reference.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace banyan::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(double v = 1.0) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class histogram {
 public:
  // Upper bounds, strictly increasing; +Inf is implicit.
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  // Adds counts gathered elsewhere: counts[i] per bucket (bounds().size() + 1 of them) and their sum.
  void merge(const std::uint64_t* counts, std::size_t n, double sum) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is the +Inf bucket).
  std::uint64_t bucket_count(std::size_t i) const noexcept { return counts_[i].load(std::memory_order_relaxed); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Seconds buckets from 0.5 ms to 10 s, suited to request latencies.
std::vector<double> latency_buckets();

class registry {
 public:
  // Throws std::invalid_argument on an invalid metric or label name, or when a name is reused with
  // another type.
  counter& get_counter(std::string_view name, std::string_view help, const labels& l = {});
  gauge& get_gauge(std::string_view name, std::string_view help, const labels& l = {});
  histogram& get_histogram(std::string_view name, std::string_view help, const labels& l = {},
                           std::vector<double> bounds = latency_buckets());

  // The whole registry in Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct family {
    kind type;
    std::string help;
    std::map<std::string, std::unique_ptr<counter>> counters;  // keyed by rendered label set
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family& family_for(std::string_view name, std::string_view help, kind type);

  mutable std::mutex mutex_;
  std::map<std::string, family, std::less<>> families_;
};

// Label set rendered as {a="x",b="y"} with Prometheus escaping; empty for no labels.
std::string render_labels(const labels& l);

}  // namespace banyan::metrics
