#include "modules/outbox/outbox.hpp"

#include <array>

namespace shop::outbox {

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

const banyan::sync::feed_outbox& feed() {
  static const banyan::sync::feed_outbox f("outbox_events");
  return f;
}

void append(banyan::sqlite::connection& c, std::string_view type, std::string_view aggregate, std::string_view key,
            const boost::json::object& payload) {
  feed().append(c, type, aggregate, key, payload);
}

void register_routes(http::router& r, banyan::sqlite::pool& db, banyan::sync::feed_waiters& waiters) {
  r.add("GET", "/internal/events",
        [&db, &waiters](http::request& req) { return feed().serve(db, req, &waiters); });
}

}  // namespace shop::outbox
