#pragma once
// The transactional outbox: every state change appends a domain event in the same transaction as
// the change, so the feed is exactly the committed history, in commit order. Extracted services
// page through it (GET /internal/events?after=ID&limit=N[&wait=MS] → {events, next, head}) to keep
// their own copies in sync; docs/data-sync.md has the protocol. The feed is the sync library's
// feed_outbox over legacy-shop's own table.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_outbox.hpp"
#include "banyan/sync/feed_waiters.hpp"

#include <boost/json/object.hpp>

#include <span>
#include <string_view>

namespace shop::outbox {

std::span<const banyan::sqlite::migration> migrations();
const banyan::sync::feed_outbox& feed();

// Must be called inside the transaction that makes the change.
void append(banyan::sqlite::connection& c, std::string_view type, std::string_view aggregate, std::string_view key,
            const boost::json::object& payload);

// GET /internal/events; `waiters` holds the long polls of followers at the head.
void register_routes(banyan::http::router& r, banyan::sqlite::pool& db, banyan::sync::feed_waiters& waiters);

}  // namespace shop::outbox
