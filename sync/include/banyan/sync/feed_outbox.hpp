#pragma once
// The publisher's side of the feed protocol (feed.hpp): an outbox table that a service's changes
// append to in the same transaction as the change, read back as feed pages. A service that takes
// over an entity's writes publishes its own feed with it, so the monolith can follow it back
// (reverse sync) and a rollback finds every write. Changes a service applies from another side's
// feed are not appended: publishing them again would echo them back.
//
// Ids are consecutive: the table's INTEGER PRIMARY KEY takes max + 1 inside the writer's
// transaction (SQLite serialises writers), and a rolled-back change takes its event with it.
#include "banyan/platform/http_message.hpp"
#include "banyan/platform/sqlite.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace banyan::sync {

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
  // The whole GET /internal/events?after=ID&limit=N (1–1000, default 100): 400 for a query it
  // cannot read, else the page.
  http::response serve(sqlite::connection& c, const http::request& req) const;

 private:
  std::string table_, schema_, insert_, select_, head_;
};

}  // namespace banyan::sync
