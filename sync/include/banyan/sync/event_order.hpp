#pragma once
// Which events of a feed page may be applied after `applied` (the last event id applied): the
// decision alone, no storage. Ids must continue the sequence exactly: events at or below `applied`
// are a replay (already applied: skipped, so a repeated page changes nothing); the first new one
// must be applied + 1, and each after it one more. Anything else is a gap or disorder: the events
// before it may be applied, the rest never, and the follower stops and says why.
#include "banyan/sync/feed.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace banyan::sync {

struct order_verdict {
  std::size_t first = 0;  // index of the first event to apply (those before are replays)
  std::size_t count = 0;  // how many to apply from there
  bool broken = false;    // a gap or disorder after them
  std::string why;        // "feed gap: expected event 13, got 15"
};

order_verdict check_order(std::int64_t applied, std::span<const feed_event> events);

}  // namespace banyan::sync
