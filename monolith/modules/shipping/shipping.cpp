#include "modules/shipping/shipping.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/sync/range_checksum.hpp"
#include "banyan/platform/log.hpp"
#include "modules/outbox/outbox.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <cctype>
#include <charconv>

namespace shop::shipping {

namespace json = boost::json;
namespace http = banyan::http;
using banyan::sqlite::connection;

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 2> list{{
      {1, "create shipping tables",
       "CREATE TABLE shipping_shipments ("
       " id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL UNIQUE, customer_id INTEGER NOT NULL,"
       " carrier TEXT NOT NULL, address TEXT NOT NULL,"
       " status TEXT NOT NULL CHECK (status IN ('booked', 'picked_up', 'in_transit', 'delivered', 'returned',"
       " 'cancelled')),"
       " tracking TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
       "CREATE TABLE shipping_events ("
       " shipment_id INTEGER NOT NULL REFERENCES shipping_shipments(id), seq INTEGER NOT NULL,"
       " status TEXT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (shipment_id, seq));"},
      {2, "who owns shipping's writes",
       "CREATE TABLE shipping_fence (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL,"
       " since INTEGER NOT NULL, at TEXT NOT NULL)"},
  }};
  return list;
}

namespace {

// The countries the shop's carriers deliver to.
constexpr std::array<std::string_view, 16> served{"austria", "belgium", "croatia", "denmark", "finland", "france",
                                                  "germany", "ireland", "italy",   "japan",   "korea",   "netherlands",
                                                  "norway",  "portugal", "spain",  "sweden"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

constexpr std::array<std::string_view, 6> statuses{"booked", "picked_up", "in_transit", "delivered", "returned",
                                                   "cancelled"};

}  // namespace

std::optional<std::string> choose_carrier(std::string_view address, std::int64_t item_count, std::string& why) {
  address = trim(address);
  if (address.empty()) return "pickup";
  const auto comma = address.rfind(',');
  const auto country = trim(comma == std::string_view::npos ? address : address.substr(comma + 1));
  std::string lower(country);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (std::find(served.begin(), served.end(), lower) == served.end()) {
    why = "no carrier serves " + std::string(country.empty() ? address : country);
    return std::nullopt;
  }
  return item_count <= 5 ? "parcelpost" : "freightline";
}

std::string tracking_for(std::int64_t shipment_id) {
  std::string digits = std::to_string(shipment_id);
  if (digits.size() < 9) digits.insert(0, 9 - digits.size(), '0');
  // Luhn: from the right, every second digit doubled.
  int sum = 0;
  bool twice = true;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, twice = !twice) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return "BNY" + digits + std::to_string((10 - sum % 10) % 10);
}

bool valid_status(std::string_view status) noexcept {
  return std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

bool may_follow(std::string_view from, std::string_view to) noexcept {
  if (from == "booked") return to == "picked_up" || to == "cancelled";
  if (from == "picked_up") return to == "in_transit" || to == "cancelled";
  if (from == "in_transit") return to == "delivered" || to == "returned";
  return false;  // delivered, returned and cancelled are final
}

json::object to_json(const shipment& s) {
  json::array events;
  for (const auto& e : s.events) events.push_back(json::object{{"status", e.status}, {"note", e.note}, {"at", e.at}});
  return {{"id", s.id},
          {"order_id", s.order_id},
          {"customer_id", s.customer_id},
          {"carrier", s.carrier},
          {"address", s.address},
          {"status", s.status},
          {"tracking", s.tracking},
          {"events", std::move(events)},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

std::optional<shipment> from_json(const json::object& o, std::string& why) {
  auto text = [&](const char* key) -> std::optional<std::string> {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto number = [&](const char* key) -> std::optional<std::int64_t> {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_int64() || v->as_int64() <= 0) return std::nullopt;
    return v->as_int64();
  };
  shipment s;
  const auto id = number("id"), order_id = number("order_id"), customer_id = number("customer_id");
  const auto carrier = text("carrier"), address = text("address"), status = text("status"), tracking = text("tracking"),
             created_at = text("created_at"), updated_at = text("updated_at");
  const auto* events = o.if_contains("events");
  if (!id || !order_id || !customer_id || !carrier || !address || !status || !tracking || !created_at || !updated_at ||
      !events || !events->is_array()) {
    why = "a shipment needs id, order_id, customer_id, carrier, address, status, tracking, events and its times";
    return std::nullopt;
  }
  if (!valid_status(*status)) {
    why = "unknown shipment status '" + *status + "'";
    return std::nullopt;
  }
  s = {*id, *order_id, *customer_id, *carrier, *address, *status, *tracking, {}, *created_at, *updated_at};
  for (const auto& e : events->as_array()) {
    const auto* eo = e.if_object();
    const auto* st = eo ? eo->if_contains("status") : nullptr;
    const auto* note = eo ? eo->if_contains("note") : nullptr;
    const auto* at = eo ? eo->if_contains("at") : nullptr;
    if (!st || !st->is_string() || !note || !note->is_string() || !at || !at->is_string()) {
      why = "a shipment's event needs status, note and at";
      return std::nullopt;
    }
    s.events.push_back({std::string(st->as_string()), std::string(note->as_string()), std::string(at->as_string())});
  }
  return s;
}

namespace {

void add_event(connection& c, const shipment& s, const status_event& e) {
  c.prepare("INSERT INTO shipping_events(shipment_id, seq, status, note, at) VALUES (?, ?, ?, ?, ?)")
      .bind_all(s.id, static_cast<std::int64_t>(s.events.size()), e.status, e.note, e.at)
      .run();
}

}  // namespace

booking book(connection& c, std::int64_t order_id, std::int64_t customer_id, std::string_view address,
             std::int64_t item_count) {
  booking out;
  const auto carrier = choose_carrier(address, item_count, out.failure);
  if (!carrier) return out;
  shipment s;
  s.id = s.order_id = order_id;
  s.customer_id = customer_id;
  s.carrier = *carrier;
  s.address = *carrier == "pickup" ? std::string("collect at the shop") : std::string(trim(address));
  s.status = "booked";
  s.tracking = tracking_for(s.id);
  s.created_at = s.updated_at = banyan::now_rfc3339();
  s.events.push_back({"booked", "with " + s.carrier, s.created_at});
  c.prepare("INSERT INTO shipping_shipments(id, order_id, customer_id, carrier, address, status, tracking, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(s.id, s.order_id, s.customer_id, s.carrier, s.address, s.status, s.tracking, s.created_at, s.updated_at)
      .run();
  c.prepare("INSERT INTO shipping_events(shipment_id, seq, status, note, at) VALUES (?, 1, ?, ?, ?)")
      .bind_all(s.id, s.events.front().status, s.events.front().note, s.events.front().at)
      .run();
  outbox::append(c, "shipment.booked", "shipment", std::to_string(s.id), to_json(s));
  out.booked = std::move(s);
  return out;
}

std::optional<shipment> find(connection& c, std::int64_t id) {
  auto st = c.prepare(
      "SELECT id, order_id, customer_id, carrier, address, status, tracking, created_at, updated_at"
      " FROM shipping_shipments WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  shipment s{st.get_int64(0), st.get_int64(1), st.get_int64(2), st.get_text(3), st.get_text(4), st.get_text(5),
             st.get_text(6), {}, st.get_text(7), st.get_text(8)};
  auto ev = c.prepare("SELECT status, note, at FROM shipping_events WHERE shipment_id = ? ORDER BY seq");
  ev.bind(1, id);
  while (ev.step()) s.events.push_back({ev.get_text(0), ev.get_text(1), ev.get_text(2)});
  return s;
}

bool report(connection& c, shipment& s, const std::string& status, const std::string& note) {
  if (!may_follow(s.status, status)) return false;
  s.status = status;
  s.updated_at = banyan::now_rfc3339();
  s.events.push_back({status, note, s.updated_at});
  c.prepare("UPDATE shipping_shipments SET status = ?, updated_at = ? WHERE id = ?")
      .bind_all(s.status, s.updated_at, s.id)
      .run();
  add_event(c, s, s.events.back());
  outbox::append(c, status == "cancelled" ? "shipment.cancelled" : "shipment.updated", "shipment", std::to_string(s.id),
                 to_json(s));
  return true;
}

void put_as_is(connection& c, const shipment& s) {
  c.prepare("DELETE FROM shipping_events WHERE shipment_id = ?").bind(1, s.id).run();
  c.prepare("INSERT INTO shipping_shipments(id, order_id, customer_id, carrier, address, status, tracking, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET order_id = excluded.order_id,"
            " customer_id = excluded.customer_id, carrier = excluded.carrier, address = excluded.address,"
            " status = excluded.status, tracking = excluded.tracking, created_at = excluded.created_at,"
            " updated_at = excluded.updated_at")
      .bind_all(s.id, s.order_id, s.customer_id, s.carrier, s.address, s.status, s.tracking, s.created_at, s.updated_at)
      .run();
  for (std::size_t i = 0; i < s.events.size(); ++i)
    c.prepare("INSERT INTO shipping_events(shipment_id, seq, status, note, at) VALUES (?, ?, ?, ?, ?)")
        .bind_all(s.id, static_cast<std::int64_t>(i + 1), s.events[i].status, s.events[i].note, s.events[i].at)
        .run();
}

void register_routes(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/api/shipments/{id}", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("shipment");
    auto conn = db.acquire();
    auto s = find(*conn, *id);
    if (!s) return not_found("shipment");
    json::object body = to_json(*s);
    stamp(body, req);
    return http::json_response(200, body);
  });

  // Every shipment, in id order, a page at a time (what `banyan data verify --entity shipments` reads).
  r.add("GET", "/api/shipments", [&db](http::request& req) {
    std::int64_t page = 1, page_size = 50;
    if (!read_query_int(req, "page", page, 1, 1'000'000) || !read_query_int(req, "page_size", page_size, 1, 1000))
      return http::error_response(400, "invalid_query", "page must be 1 or more and page_size 1 to 1000");
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    auto count = conn->prepare("SELECT COUNT(*) FROM shipping_shipments");
    count.step();
    auto ids = conn->prepare("SELECT id FROM shipping_shipments ORDER BY id LIMIT ? OFFSET ?");
    ids.bind_all(page_size, (page - 1) * page_size);
    json::array items;
    while (ids.step()) items.push_back(to_json(*find(*conn, ids.get_int64(0))));
    json::object body{{"items", std::move(items)}, {"page", page}, {"page_size", page_size}, {"total", count.get_int64(0)}};
    tx.commit();
    stamp(body, req);
    return http::json_response(200, body);
  });

  r.add("GET", "/api/orders/{id}/shipment", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("order");
    auto conn = db.acquire();
    auto o = conn->prepare("SELECT 1 FROM orders_orders WHERE id = ?");
    o.bind(1, *id);
    if (!o.step()) return not_found("order");
    auto s = find(*conn, *id);  // numbered as its order
    if (!s)
      return http::error_response(404, "no_shipment",
                                  "order " + std::to_string(*id) + " has no shipment (not booked, or cancelled before)");
    json::object body = to_json(*s);
    stamp(body, req);
    return http::json_response(200, body);
  });

  // The shipments for a backfill (docs/data-sync.md): in id order, a page after a given id, with
  // their histories, as the feed's events carry them.
  r.add("GET", "/internal/snapshot/shipment", [&db](http::request& req) {
    std::int64_t after = 0, limit = 500;
    if (!read_query_int(req, "after", after, 0, INT64_MAX))
      return http::error_response(400, "invalid_query", "after must be a shipment id");
    if (!read_query_int(req, "limit", limit, 1, 1000)) return http::error_response(400, "invalid_query", "limit must be an integer from 1 to 1000");
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    // The total on the first page only: a COUNT on every page re-read the whole table each time
    // (a profile of a 100,000-row backfill: pread the largest cost); the follower keeps the first.
    std::optional<std::int64_t> total;
    if (after == 0) {
      auto count = conn->prepare("SELECT COUNT(*) FROM shipping_shipments");
      count.step();
      total = count.get_int64(0);
    }
    auto ids = conn->prepare("SELECT id FROM shipping_shipments WHERE id > ? ORDER BY id LIMIT ?");
    ids.bind_all(after, limit + 1);  // one more tells whether this page is the last
    std::vector<std::int64_t> page;
    while (ids.step()) page.push_back(ids.get_int64(0));
    const bool done = static_cast<std::int64_t>(page.size()) <= limit;
    if (!done) page.pop_back();
    json::array items;
    for (const auto id : page) items.push_back(json::object{{"key", std::to_string(id)}, {"payload", to_json(*find(*conn, id))}});
    tx.commit();
    json::object body{{"items", std::move(items)}, {"next", std::to_string(page.empty() ? after : page.back())}, {"done", done}};
    if (total) body["total"] = *total;
    return http::json_response(200, std::move(body));
  });

  // Checksums of the shipments by id range, for `banyan data verify` (banyan/sync/range_checksum.hpp):
  // each row as the listing shows it.
  r.add("GET", "/internal/checksum/shipments", [&db](http::request& req) {
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    return banyan::sync::serve_range_checksum(req, "id", [&](const auto& q, int limit, const auto& each) {
      auto ids = conn->prepare_cached("SELECT id FROM shipping_shipments WHERE id > ? AND id <= ? ORDER BY id LIMIT ?");
      ids->bind_all(q.after.value_or(INT64_MIN), q.through.value_or(INT64_MAX), limit);
      while (ids->step()) {
        const auto id = ids->get_int64(0);
        each(id, to_json(*find(*conn, id)));
      }
    });
  });

  // A carrier reports where the shipment is.
  r.add("POST", "/api/shipments/{id}/events", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("shipment");
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    field_errors errors;
    reject_unknown(*body, {"status", "note"}, errors);
    auto status = require_string(*body, "status", errors, 1, 32);
    std::string note;
    if (const auto* n = body->if_contains("note")) {
      if (!n->is_string() || n->as_string().size() > 500) errors.add("note", "must be a string of at most 500 characters");
      else note = std::string(n->as_string());
    }
    if (status && !valid_status(*status))
      errors.add("status", "must be one of booked, picked_up, in_transit, delivered, returned, cancelled");
    if (!errors.empty()) return errors.to_response();
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    auto s = find(*conn, *id);
    if (!s) return not_found("shipment");
    const std::string from = s->status;
    if (!report(*conn, *s, *status, note))
      return http::error_response(409, "invalid_status_change",
                                  "a shipment that is " + from + " cannot become " + *status);
    commit_unless_dry_run(tx, req);
    return http::json_response(200, to_json(*s));
  });
}

}  // namespace shop::shipping

namespace shop::shipping {

std::optional<fence> current_fence(connection& c) {
  auto st = c.prepare("SELECT owner, since, at FROM shipping_fence WHERE id = 1");
  if (!st.step()) return std::nullopt;
  return fence{st.get_text(0), st.get_int64(1), st.get_text(2)};
}

namespace {
json::object fence_json(const std::optional<fence>& f) {
  if (!f) return {{"up", false}, {"since", 0}, {"owner", ""}};
  return {{"up", true}, {"since", f->since}, {"owner", f->owner}, {"at", f->at}};
}
}  // namespace

void register_fence_routes(http::router& r, banyan::sqlite::pool& db, std::string service) {
  auto not_ours = [service](std::string_view owner) {
    return http::error_response(404, "no_fence",
                                "legacy-shop keeps a fence for the writes of '" + service + "' only, not of '" +
                                    std::string(owner) + "'");
  };
  r.add("GET", "/internal/fence", [&db](http::request&) {
    auto conn = db.acquire();
    return http::json_response(200, fence_json(current_fence(*conn)));
  });
  r.add("PUT", "/internal/fence", [&db, service, not_ours](http::request& req) {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    const auto* since = body->if_contains("since");
    const auto* owner = body->if_contains("owner");
    if (!since || !since->is_int64() || since->as_int64() < 0 || !owner || !owner->is_string() ||
        owner->as_string().empty())
      return http::error_response(422, "invalid_fence", "a fence names its owner and the feed position it starts at");
    if (owner->as_string() != service) return not_ours(owner->as_string());
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    const fence f{service, since->as_int64(), banyan::now_rfc3339()};
    conn->prepare("INSERT INTO shipping_fence(id, owner, since, at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                  " owner = excluded.owner, since = excluded.since, at = excluded.at")
        .bind_all(f.owner, f.since, f.at)
        .run();
    tx.commit();
    banyan::log::info("shipping's writes belong to the service now: orders wait for its booking",
                      {{"owner", f.owner}, {"since", f.since}});
    return http::json_response(200, fence_json(f));
  });
  r.add("DELETE", "/internal/fence", [&db, service, not_ours](http::request& req) {
    // The barrier names whose fence comes down (the service the writes leave); without a name, the
    // only one kept here.
    if (const auto owner = req.query_param("owner"); owner && *owner != service) return not_ours(*owner);
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    const auto was = current_fence(*conn);
    conn->exec("DELETE FROM shipping_fence");
    tx.commit();
    if (was) banyan::log::info("shipping's writes are this monolith's again: orders are booked in process");
    json::object out{{"up", false}, {"was", fence_json(was)}};
    return http::json_response(200, out);
  });
}

}  // namespace shop::shipping
