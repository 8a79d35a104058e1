#pragma once
// The publisher's side of the feed protocol (feed.hpp): an outbox table that a service's changes
// append to in the same transaction as the change, read back as feed pages. A service that takes
// over an entity's writes publishes its own feed with it, so the monolith can follow it back
// (reverse sync) and a rollback finds every write. Changes a service applies from another side's
// feed are not appended: publishing them again would echo them back.
//
// Ids are consecutive: the table's INTEGER PRIMARY KEY takes max + 1 inside the writer's
// transaction (SQLite serialises writers), and a rolled-back change takes its event with it.
#include "banyan/platform/expected.hpp"
#include "banyan/platform/http_message.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_waiters.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace banyan::sync {

// The query of GET /internal/events, as every publisher reads it: after (≥ 0, default 0), limit
// (1–1000, default 100), wait (0–30000 ms: a long poll, feed_waiters.hpp), committed (present or not).
struct events_query {
  std::int64_t after = 0;
  int limit = 100;
  std::chrono::milliseconds wait{0};
  bool committed = false;
};
// The 400 answer (invalid_query, naming the parameter) for a query it cannot read.
expected<events_query, http::response> read_events_query(const http::request& req);

class feed_outbox {
 public:
  // `table`: the owner's outbox table, e.g. "catalog_outbox" (created by schema_sql()).
  explicit feed_outbox(std::string table);

  // The CREATE TABLE for the owner's migrations (kept alive by this object).
  std::string_view schema_sql() const noexcept { return schema_; }

  // Inside the change's transaction. `at` is now (RFC 3339).
  void append(sqlite::connection& c, std::string_view type, std::string_view aggregate, std::string_view key,
              const boost::json::object& payload) const;
  // The newest event's id; 0 while the feed is empty.
  std::int64_t head(sqlite::connection& c) const;
  // GET /internal/events's answer: up to `limit` events after `after`, and the head, read in one
  // transaction (a head the page does not reach then means events are missing, never that one
  // committed in between).
  boost::json::object page(sqlite::connection& c, std::int64_t after, int limit) const;
  // The whole GET /internal/events?after=ID&limit=N[&wait=MS]: 400 for a query it cannot read,
  // else the page. With `waiters`, a request at the head that asks to wait is held until an event
  // comes (no connection of `db` is held meanwhile).
  http::response serve(sqlite::pool& db, const http::request& req, feed_waiters* waiters = nullptr) const;

 private:
  std::string table_, schema_, insert_, select_, head_;
};

}  // namespace banyan::sync
