#include "banyan/sync/event_order.hpp"

namespace banyan::sync {

order_verdict check_order(std::int64_t applied, std::span<const feed_event> events) {
  order_verdict v;
  std::size_t i = 0;
  while (i < events.size() && events[i].id <= applied) {
    if (i > 0 && events[i].id <= events[i - 1].id) {
      v.broken = true;
      v.why = "feed out of order: event " + std::to_string(events[i].id) + " after event " +
              std::to_string(events[i - 1].id);
      return v;
    }
    ++i;
  }
  v.first = i;
  std::int64_t expect = applied + 1;
  for (; i < events.size(); ++i, ++expect) {
    if (events[i].id != expect) {
      v.broken = true;
      v.why = (events[i].id > expect ? "feed gap: expected event " : "feed out of order: expected event ") +
              std::to_string(expect) + ", got " + std::to_string(events[i].id);
      break;
    }
    ++v.count;
  }
  return v;
}

}  // namespace banyan::sync
