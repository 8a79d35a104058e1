#pragma once
// Log-scale latency buckets shared by the data plane's per-route histograms, the evidence store
// and the evidence itself: 0.01 ms × 1.1^bucket, so each bucket is 10 % wide, from 10 µs to beyond
// an hour. Histograms with these buckets add up across instances of a fleet; percentiles do not.
#include <cmath>
#include <cstdint>
#include <map>

namespace banyan::evidence {

inline constexpr int latency_bucket_count = 251;

inline int latency_bucket(double ms) noexcept {
  if (!(ms > 0.01)) return 0;
  const int b = static_cast<int>(std::log(ms / 0.01) * 10.49205869) + 1;  // 1 / ln(1.1)
  return b >= latency_bucket_count ? latency_bucket_count - 1 : b;
}

// The bucket's representative value: its geometric middle.
inline double latency_bucket_ms(int bucket) noexcept {
  if (bucket <= 0) return 0.01;
  return 0.01 * std::pow(1.1, bucket - 0.5);
}

using latency_histogram = std::map<int, std::int64_t>;  // bucket → count

}  // namespace banyan::evidence
