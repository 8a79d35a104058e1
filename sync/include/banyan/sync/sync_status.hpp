#pragma once
// What `GET /internal/sync` answers: the typed contract between an extracted service and whoever
// reads its sync (plan gates, the write cut-over, `banyan`). One struct, one encoder, one decoder,
// so both sides read the same keys.
#include "banyan/platform/expected.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace banyan::sync {

struct sync_status {
  std::string source;  // the URL followed
  std::string entity;  // the aggregate ("product")
  std::string state;   // backfilling | following | stopped
  std::string why;     // stopped: why; otherwise the last problem reaching the source, or empty
  std::int64_t applied = 0;  // the last feed event applied
  std::int64_t head = 0;     // the source's newest event, as last seen
  std::int64_t lag_events = 0;
  double lag_seconds = 0;    // age of the oldest event not yet applied (0 when caught up)
  bool source_reachable = true;
  std::string last_contact;  // RFC 3339: the last answer from the source
  std::int64_t events_applied = 0;
  std::int64_t events_ignored = 0;
  std::string last_ignored;  // why the last event of the entity was ignored
  // banyan-sync on a database that publishes: changes to its mapped tables since the fence went up
  // (its writes moved to another owner) that it did not apply itself. Absent: not known here.
  std::optional<std::int64_t> foreign_writes;
  struct backfill_progress {
    std::string phase;  // copying | catching_up | done
    std::int64_t position = 0;  // the feed position taken before the copy
    std::int64_t rows_done = 0;
    std::optional<std::int64_t> rows_total;
    double rows_per_second = 0;
    std::string started_at, copied_at, caught_up_at;
  } backfill;
};

boost::json::object to_json(const sync_status& s);
expected<sync_status, std::string> parse_sync_status(std::string_view json);

}  // namespace banyan::sync
