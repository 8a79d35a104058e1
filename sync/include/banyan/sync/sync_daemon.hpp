#pragma once
// banyan-sync running (docs/banyan-sync.md), transport-free: requests come in through handle(),
// so tests can drive it without a socket. It attaches to one database and does either job or both:
//  - publish: serve the captured changes as the feed (GET /internal/events, with `wait` held until
//    an event comes) and the mapped tables as snapshots (GET /internal/snapshot/AGGREGATE);
//  - follow: apply another feed into the mapped tables, one follower per aggregate, and answer
//    GET /internal/sync for all of them together.
// Plus /healthz, /readyz, /metrics, and the foreign-write fence (/internal/fence) the proxy's
// cut-over barrier raises on the old owner once its writes have moved.
#include "banyan/platform/http_message.hpp"
#include "banyan/platform/metrics.hpp"
#include "banyan/platform/router.hpp"
#include "banyan/sync/change_capture.hpp"
#include "banyan/sync/sync_config.hpp"
#include "banyan/sync/sync_status.hpp"

#include <memory>
#include <stdexcept>

namespace banyan::sync {

// The map cannot be honoured by the live schema: each problem at its FILE:LINE:COL.
class schema_mismatch : public std::runtime_error {
 public:
  explicit schema_mismatch(std::string diagnostics) : std::runtime_error(std::move(diagnostics)) {}
};

// The problems of a schema report as FILE:LINE:COL lines (the map's positions).
std::string schema_diagnostics(const sync_config& config, const schema_report& report);

// The capture for the configured database (SQLite now).
std::unique_ptr<change_capture> open_capture(const sync_config& config, std::size_t connections);

// The followers' statuses as one: stopped if any is, backfilling while any is, the lowest
// position applied, the highest head seen (pure; tested directly).
sync_status combine_statuses(const std::vector<sync_status>& each);

class sync_daemon {
 public:
  // Checks the map against the schema (throws schema_mismatch), installs the capture when
  // publishing, prepares the followers. Nothing runs until start().
  explicit sync_daemon(sync_config config);
  ~sync_daemon();
  sync_daemon(const sync_daemon&) = delete;
  sync_daemon& operator=(const sync_daemon&) = delete;

  void start();
  void stop();
  http::response handle(http::request& req) const { return router_.dispatch(req); }
  metrics::registry& metrics() noexcept { return metrics_; }
  // Notes from the schema check (journal mode, resolved types), for the log.
  const std::vector<std::string>& notes() const noexcept { return notes_; }

 private:
  metrics::registry metrics_;  // before impl_: its threads update it until stopped
  http::router router_;
  std::vector<std::string> notes_;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace banyan::sync
