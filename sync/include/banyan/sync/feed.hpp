#pragma once
// The change-feed protocol (docs/data-sync.md): what a monolith publishes so that an extracted
// service can copy an entity and then follow its changes, and what a service that takes over an
// entity's writes publishes in turn. Pure: JSON text in, typed pages out, and back.
//
//   GET /internal/events?after=ID&limit=N[&committed=1]
//     → {"events":[{"id","type","aggregate","key","payload","at"}], "next": ID, "head": ID}
//   GET /internal/snapshot/AGGREGATE?after=CURSOR&limit=N
//     → {"items":[{"key","payload"}], "next": CURSOR, "done": bool, "total": N}
//
// Event ids are consecutive integers in commit order (1, 2, 3, …): a missing id is a lost event.
// `head` is the newest id (0 for an empty feed). With committed=1 it covers every change committed
// before the request (the write cut-over barrier asks so): a publisher that captures from a log,
// rather than in the app's own transaction, answers once it has read that far. A snapshot lists an aggregate's current rows in
// the publisher's key order; `payload` has the same shape as a created/updated event's.
#include "banyan/platform/expected.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::sync {

struct feed_event {
  std::int64_t id = 0;
  std::string type;       // product.created, product.updated, product.deleted, stock.changed, …
  std::string aggregate;  // product, stock, order, …
  std::string key;        // the aggregate's id
  boost::json::value payload;
  std::string at;  // RFC 3339, when the change committed
};

struct feed_page {
  std::vector<feed_event> events;
  std::int64_t next = 0;
  std::int64_t head = 0;
  // A publisher that prunes (banyan-sync) answers a position below what it still has with no
  // events and the last id it removed: the head can still be read there (the barrier, a backfill's
  // first step), and a follower at that position knows it must copy again.
  std::optional<std::int64_t> pruned_through;
};

struct snapshot_row {
  std::string key;
  boost::json::object payload;
};

struct snapshot_page {
  std::vector<snapshot_row> rows;
  std::string next;  // the cursor for the following page
  bool done = false;
  std::optional<std::int64_t> total;  // rows in the whole snapshot, when the publisher knows
};

// Parse a publisher's answer; the error says what is wrong with it, for the sync status.
expected<feed_page, std::string> parse_feed_page(std::string_view json);
expected<snapshot_page, std::string> parse_snapshot_page(std::string_view json);

// For publishers (a service's own feed): the JSON the protocol describes.
boost::json::object to_json(const feed_event& e);
boost::json::object feed_page_json(const std::vector<feed_event>& events, std::int64_t after, std::int64_t head);

// The targets a follower asks for (relative to the source URL). An empty `after` is the first page.
std::string events_target(std::int64_t after, int limit);
std::string snapshot_target(std::string_view aggregate, std::string_view after, int limit);

}  // namespace banyan::sync
