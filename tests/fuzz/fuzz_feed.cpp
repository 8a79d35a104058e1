// What a source or a service answers the sync: feed pages, snapshot pages and sync statuses parse
// or are refused with a reason; a status that parses encodes and parses back the same.
#include "banyan/sync/feed.hpp"
#include "banyan/sync/event_order.hpp"
#include "banyan/sync/sync_status.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace banyan::sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto page = parse_feed_page(text)) {
    const auto v = check_order(0, page->events);
    if (v.first + v.count > page->events.size()) std::abort();
  } else if (page.error().empty()) {
    std::abort();
  }
  (void)parse_snapshot_page(text);
  if (auto s = parse_sync_status(text)) {
    auto again = parse_sync_status(boost::json::serialize(to_json(*s)));
    if (!again || again->state != s->state || again->applied != s->applied) std::abort();
  }
  return 0;
}
