#include "banyan/sync/feed.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <cctype>

namespace banyan::sync {

namespace json = boost::json;

namespace {

using fail = unexpected<std::string>;

const json::object* as_object(const json::value& v) { return v.if_object(); }

bool read_int(const json::object& o, std::string_view key, std::int64_t& out) {
  const auto* v = o.if_contains(key);
  if (!v) return false;
  if (v->is_int64()) out = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= INT64_MAX) out = static_cast<std::int64_t>(v->as_uint64());
  else return false;
  return true;
}

bool read_string(const json::object& o, std::string_view key, std::string& out) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return false;
  out = std::string(v->as_string());
  return true;
}

// Keys may be numbers or strings on the wire; they are compared as text.
bool read_key(const json::object& o, std::string_view key, std::string& out) {
  if (read_string(o, key, out)) return true;
  std::int64_t n = 0;
  if (!read_int(o, key, n)) return false;
  out = std::to_string(n);
  return true;
}

expected<json::object, std::string> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return fail{"not JSON: " + ec.message()};
  if (!v.is_object()) return fail{"not a JSON object"};
  return std::move(v.as_object());
}

}  // namespace

expected<feed_page, std::string> parse_feed_page(std::string_view text) {
  auto root = parse_object(text);
  if (!root) return fail{"feed page: " + root.error()};
  feed_page page;
  const auto* events = root->if_contains("events");
  if (!events || !events->is_array()) return fail{"feed page: no \"events\" array"};
  if (!read_int(*root, "next", page.next)) return fail{"feed page: no integer \"next\""};
  if (!read_int(*root, "head", page.head))
    return fail{"feed page: no integer \"head\" (the newest event id; the protocol needs it to measure lag)"};
  if (std::int64_t p = 0; read_int(*root, "pruned_through", p)) page.pruned_through = p;
  std::size_t i = 0;
  for (const auto& item : events->as_array()) {
    const auto* o = as_object(item);
    const std::string where = "feed page: events[" + std::to_string(i++) + "]";
    if (!o) return fail{where + " is not an object"};
    feed_event e;
    if (!read_int(*o, "id", e.id) || e.id <= 0) return fail{where + ": no positive integer \"id\""};
    if (!read_string(*o, "type", e.type) || e.type.empty()) return fail{where + ": no \"type\""};
    if (!read_string(*o, "aggregate", e.aggregate) || e.aggregate.empty()) return fail{where + ": no \"aggregate\""};
    if (!read_key(*o, "key", e.key)) return fail{where + ": no \"key\""};
    if (const auto* p = o->if_contains("payload")) e.payload = *p;
    read_string(*o, "at", e.at);
    page.events.push_back(std::move(e));
  }
  return page;
}

expected<snapshot_page, std::string> parse_snapshot_page(std::string_view text) {
  auto root = parse_object(text);
  if (!root) return fail{"snapshot page: " + root.error()};
  snapshot_page page;
  const auto* items = root->if_contains("items");
  if (!items || !items->is_array()) return fail{"snapshot page: no \"items\" array"};
  const auto* done = root->if_contains("done");
  if (!done || !done->is_bool()) return fail{"snapshot page: no boolean \"done\""};
  page.done = done->as_bool();
  if (!read_key(*root, "next", page.next) && !page.done) return fail{"snapshot page: no \"next\" cursor"};
  std::int64_t total = 0;
  if (read_int(*root, "total", total)) page.total = total;
  std::size_t i = 0;
  // The page is ours: each payload moves into its row (a deep copy per row showed in a backfill's
  // profile, among malloc's share).
  auto& list = root->at("items").as_array();
  page.rows.reserve(list.size());
  for (auto& item : list) {
    auto* o = item.if_object();
    const std::string where = "snapshot page: items[" + std::to_string(i++) + "]";
    if (!o) return fail{where + " is not an object"};
    snapshot_row row;
    if (!read_key(*o, "key", row.key)) return fail{where + ": no \"key\""};
    auto* p = o->if_contains("payload");
    if (!p || !p->is_object()) return fail{where + ": no \"payload\" object"};
    row.payload = std::move(p->as_object());
    page.rows.push_back(std::move(row));
  }
  return page;
}

json::object to_json(const feed_event& e) {
  return {{"id", e.id}, {"type", e.type}, {"aggregate", e.aggregate}, {"key", e.key}, {"payload", e.payload}, {"at", e.at}};
}

json::object feed_page_json(const std::vector<feed_event>& events, std::int64_t after, std::int64_t head) {
  json::array list;
  for (const auto& e : events) list.push_back(to_json(e));
  return {{"events", std::move(list)}, {"next", events.empty() ? after : events.back().id}, {"head", head}};
}

std::string events_target(std::int64_t after, int limit) {
  return "/internal/events?after=" + std::to_string(after) + "&limit=" + std::to_string(limit);
}

std::string snapshot_target(std::string_view aggregate, std::string_view after, int limit) {
  std::string t = "/internal/snapshot/" + std::string(aggregate) + "?limit=" + std::to_string(limit);
  if (after.empty()) return t;
  t += "&after=";
  for (const char c : after) {  // a cursor is the publisher's text: percent-encode all but unreserved
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      t.push_back(c);
    } else {
      constexpr char hex[] = "0123456789ABCDEF";
      t += {'%', hex[u >> 4], hex[u & 15]};
    }
  }
  return t;
}

}  // namespace banyan::sync
