#include "modules/outbox/outbox.hpp"

#include "banyan/platform/clock.hpp"
#include "common/shop_http.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>

namespace shop::outbox {

namespace json = boost::json;
namespace http = banyan::http;

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 1> list{{
      {1, "create outbox_events",
       "CREATE TABLE outbox_events ("
       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
       " type TEXT NOT NULL, aggregate TEXT NOT NULL, key TEXT NOT NULL,"
       " payload TEXT NOT NULL, at TEXT NOT NULL)"},
  }};
  return list;
}

void append(banyan::sqlite::connection& c, std::string_view type, std::string_view aggregate, std::string_view key,
            const json::object& payload) {
  c.prepare("INSERT INTO outbox_events(type, aggregate, key, payload, at) VALUES (?, ?, ?, ?, ?)")
      .bind_all(type, aggregate, key, json::serialize(payload), banyan::now_rfc3339())
      .run();
}

std::vector<event> read_after(banyan::sqlite::connection& c, std::int64_t after, int limit) {
  auto st = c.prepare("SELECT id, type, aggregate, key, payload, at FROM outbox_events WHERE id > ? ORDER BY id LIMIT ?");
  st.bind_all(after, limit);
  std::vector<event> out;
  while (st.step())
    out.push_back({st.get_int64(0), st.get_text(1), st.get_text(2), st.get_text(3), st.get_text(4), st.get_text(5)});
  return out;
}

std::int64_t head_id(banyan::sqlite::connection& c) {
  auto st = c.prepare("SELECT COALESCE(MAX(id), 0) FROM outbox_events");
  st.step();
  return st.get_int64(0);
}

namespace {
bool parse_nonneg(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}
}  // namespace

void register_routes(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/internal/events", [&db](http::request& req) {
    std::int64_t after = 0, limit = 100;
    if (auto a = req.query_param("after"); a && !parse_nonneg(*a, after))
      return http::error_response(400, "invalid_query", "after must be a non-negative integer");
    if (auto l = req.query_param("limit"); l && (!parse_nonneg(*l, limit) || limit < 1 || limit > 1000))
      return http::error_response(400, "invalid_query", "limit must be an integer from 1 to 1000");
    auto conn = db.acquire();
    // The head and the page from one read transaction: a head the page does not reach means
    // events are really missing, never that one committed in between.
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    const std::int64_t head = head_id(*conn);
    json::array events;
    std::int64_t next = after;
    for (auto& e : read_after(*conn, after, static_cast<int>(limit))) {
      next = e.id;
      events.push_back(json::object{{"id", e.id},
                                    {"type", e.type},
                                    {"aggregate", e.aggregate},
                                    {"key", e.key},
                                    {"payload", json::parse(e.payload)},
                                    {"at", e.at}});
    }
    tx.commit();
    return http::json_response(200, json::object{{"events", std::move(events)}, {"next", next}, {"head", head}});
  });
}

}  // namespace shop::outbox
