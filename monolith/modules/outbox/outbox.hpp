#pragma once
// The transactional outbox: every state change appends a domain event in the same transaction as
// the change, so the feed is exactly the committed history, in commit order. Extracted services
// page through it (GET /internal/events?after=ID&limit=N → {events, next, head}) to keep their own
// copies in sync; docs/data-sync.md has the protocol.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace shop::outbox {

std::span<const banyan::sqlite::migration> migrations();

struct event {
  std::int64_t id;
  std::string type;       // product.created, stock.changed, order.placed, ...
  std::string aggregate;  // product, stock, order, customer
  std::string key;        // the aggregate's id or sku
  std::string payload;    // JSON text
  std::string at;
};

// Must be called inside the transaction that makes the change.
void append(banyan::sqlite::connection& c, std::string_view type, std::string_view aggregate, std::string_view key,
            const boost::json::object& payload);
std::vector<event> read_after(banyan::sqlite::connection& c, std::int64_t after, int limit);
// The newest event's id; 0 while the feed is empty.
std::int64_t head_id(banyan::sqlite::connection& c);

void register_routes(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace shop::outbox
