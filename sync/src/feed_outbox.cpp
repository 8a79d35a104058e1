#include "banyan/sync/feed_outbox.hpp"

#include <charconv>

#include "banyan/platform/clock.hpp"
#include "banyan/sync/feed.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>
#include <vector>

namespace banyan::sync {

feed_outbox::feed_outbox(std::string table) : table_(std::move(table)) {
  for (char c : table_)
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      throw std::invalid_argument("outbox table name must be lowercase letters, digits and '_': " + table_);
  schema_ = "CREATE TABLE " + table_ +
            " (id INTEGER PRIMARY KEY, type TEXT NOT NULL, aggregate TEXT NOT NULL, key TEXT NOT NULL,"
            " payload TEXT NOT NULL, at TEXT NOT NULL)";
  insert_ = "INSERT INTO " + table_ + "(type, aggregate, key, payload, at) VALUES (?, ?, ?, ?, ?)";
  select_ = "SELECT id, type, aggregate, key, payload, at FROM " + table_ + " WHERE id > ? ORDER BY id LIMIT ?";
  head_ = "SELECT COALESCE(MAX(id), 0) FROM " + table_;
}

void feed_outbox::append(sqlite::connection& c, std::string_view type, std::string_view aggregate,
                         std::string_view key, const boost::json::object& payload) const {
  c.prepare_cached(insert_)->bind_all(type, aggregate, key, boost::json::serialize(payload), now_rfc3339()).run();
}

std::int64_t feed_outbox::head(sqlite::connection& c) const {
  auto st = c.prepare_cached(head_);
  st->step();
  return st->get_int64(0);
}

boost::json::object feed_outbox::page(sqlite::connection& c, std::int64_t after, int limit) const {
  sqlite::transaction tx(c, sqlite::transaction::mode::deferred);
  const std::int64_t newest = head(c);
  std::vector<feed_event> events;
  {
    auto st = c.prepare_cached(select_);
    st->bind_all(after, limit);
    while (st->step())
      events.push_back({st->get_int64(0), st->get_text(1), st->get_text(2), st->get_text(3),
                        boost::json::parse(st->get_text(4)), st->get_text(5)});
  }
  tx.commit();
  return feed_page_json(events, after, newest);
}

}  // namespace banyan::sync

namespace banyan::sync {

namespace {
bool read_count(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}
}  // namespace

expected<events_query, http::response> read_events_query(const http::request& req) {
  events_query q;
  std::int64_t n = 0;
  if (auto a = req.query_param("after"); a && !read_count(*a, q.after))
    return unexpected(http::error_response(400, "invalid_query", "after must be a non-negative integer"));
  if (auto l = req.query_param("limit")) {
    if (!read_count(*l, n) || n < 1 || n > 1000)
      return unexpected(http::error_response(400, "invalid_query", "limit must be an integer from 1 to 1000"));
    q.limit = static_cast<int>(n);
  }
  if (auto w = req.query_param("wait")) {
    if (!read_count(*w, n) || n > 30'000)
      return unexpected(
          http::error_response(400, "invalid_query", "wait must be a number of milliseconds from 0 to 30000"));
    q.wait = std::chrono::milliseconds(n);
  }
  q.committed = req.query_param("committed").has_value();
  return q;
}

http::response feed_outbox::serve(sqlite::pool& db, const http::request& req, feed_waiters* waiters) const {
  auto q = read_events_query(req);
  if (!q) return std::move(q.error());
  auto read_page = [&] {
    auto conn = db.acquire();
    return page(*conn, q->after, q->limit);
  };
  auto body = read_page();
  if (waiters && body.at("events").as_array().empty() &&
      waiters->wait_past(q->after, body.at("head").as_int64(), q->wait))
    body = read_page();
  return http::json_response(200, std::move(body));
}

}  // namespace banyan::sync
