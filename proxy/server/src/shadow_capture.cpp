#include "data_plane_impl.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/proxy/shadow_mirror.hpp"

namespace banyan::proxy {

// Carries out the decision's shadow choice: counts a copy not taken, or keeps what the copy needs.
void data_plane::impl::take_copy_decision(exchange& x, const route_decision& d, route_stats* stats,
                                          std::string_view method, std::string_view target) {
  x.shadow_copy = d.shadow == shadow_choice::copy;
  if (d.shadow == shadow_choice::skipped_write && stats)
    stats->shadow_skipped_writes.fetch_add(1, std::memory_order_relaxed);
  else if (d.shadow == shadow_choice::too_large && stats)
    stats->shadow_too_large.fetch_add(1, std::memory_order_relaxed);
  if (!x.shadow_copy) return;
  x.shadow_dry_run = d.shadow_dry_run;
  x.shadow_primary_monolith = d.shadow_primary_monolith;
  x.shadow_route = d.index;
  x.shadow_method.assign(method);
  x.shadow_target.assign(target);
}

// The copy's head: the forwarded head, marked.
void data_plane::impl::start_request_capture(exchange& x, std::uint64_t limit) {
  std::string_view head = x.head_out;
  head.remove_suffix(2);  // the blank line
  x.req_cap.start(head, limit);
  x.req_cap.bytes += x.shadow_dry_run ? "X-Banyan-Shadow: dry-run\r\n\r\n" : "X-Banyan-Shadow: 1\r\n\r\n";
  x.req_cap.limit += x.req_cap.bytes.size() - head.size();
}

// Hands a finished exchange's capture to the mirror; counts it dropped when the queue is full.
void data_plane::impl::offer_copy(exchange& x, route_stats* stats, clock_type::time_point started) {
  x.req_cap.active = x.res_cap.active = false;
  if (x.req_cap.overflow) {  // a chunked request body past the compare limit
    if (stats) stats->shadow_too_large.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  mirror_job job;
  job.snap = x.snap;
  job.route_index = x.shadow_route;
  job.primary_is_monolith = x.shadow_primary_monolith;
  job.safe = !x.shadow_dry_run;
  job.head_bytes = x.req_cap.bytes.find("\r\n\r\n") + 4;
  job.request = std::move(x.req_cap.bytes);
  job.primary = std::move(x.res_cap.bytes);
  job.primary_too_large = x.res_cap.overflow;
  job.primary_seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  job.at_ms = unix_ms();
  job.request_id.assign(x.rid.value());
  job.method = std::move(x.shadow_method);
  job.target = std::move(x.shadow_target);
  if (opt.mirror->offer(std::move(job))) {
    if (stats) stats->shadow_copied.fetch_add(1, std::memory_order_relaxed);
  } else if (stats) {
    stats->shadow_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace banyan::proxy
