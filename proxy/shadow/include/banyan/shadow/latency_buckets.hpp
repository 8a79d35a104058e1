#pragma once
// The log-scale latency buckets, as the shadow side names them (defined with the evidence, whose
// histograms must add up across a fleet's instances).
#include "banyan/evidence/latency_histogram.hpp"

namespace banyan::shadow {

using evidence::latency_bucket;
using evidence::latency_bucket_count;
using evidence::latency_bucket_ms;

}  // namespace banyan::shadow
