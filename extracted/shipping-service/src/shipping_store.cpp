#include "shipping_store.hpp"

#include "banyan/platform/clock.hpp"

#include <array>

namespace shipping {

using banyan::sqlite::connection;
namespace json = boost::json;

const banyan::sync::feed_outbox& outbox() {
  static const banyan::sync::feed_outbox box("shipping_outbox");
  return box;
}

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 2> list{{
      {1, "create shipments",
       "CREATE TABLE shipments ("
       " id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL UNIQUE, customer_id INTEGER NOT NULL,"
       " carrier TEXT NOT NULL, address TEXT NOT NULL,"
       " status TEXT NOT NULL CHECK (status IN ('booked', 'picked_up', 'in_transit', 'delivered', 'returned',"
       " 'cancelled')),"
       " tracking TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
       "CREATE TABLE shipment_events ("
       " shipment_id INTEGER NOT NULL REFERENCES shipments(id), seq INTEGER NOT NULL,"
       " status TEXT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (shipment_id, seq));"
       // Orders the monolith's feed named, and each booking this service decided (once per order).
       "CREATE TABLE orders_seen (order_id INTEGER PRIMARY KEY);"
       "CREATE TABLE bookings (order_id INTEGER PRIMARY KEY, outcome TEXT NOT NULL, reason TEXT NOT NULL,"
       " at TEXT NOT NULL);"
       "CREATE TABLE fence (id INTEGER PRIMARY KEY CHECK (id = 1), up INTEGER NOT NULL, owner TEXT NOT NULL,"
       " since INTEGER NOT NULL, at TEXT NOT NULL);"
       "INSERT INTO fence VALUES (1, 1, 'monolith', 0, '');"},
      {2, "create shipping_outbox (the service's own feed)", outbox().schema_sql()},
  }};
  return list;
}

std::optional<shipment> find(connection& c, std::int64_t id) {
  auto st = c.prepare(
      "SELECT id, order_id, customer_id, carrier, address, status, tracking, created_at, updated_at FROM shipments"
      " WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  shipment s{st.get_int64(0), st.get_int64(1), st.get_int64(2), st.get_text(3), st.get_text(4), st.get_text(5),
             st.get_text(6), {}, st.get_text(7), st.get_text(8)};
  auto ev = c.prepare("SELECT status, note, at FROM shipment_events WHERE shipment_id = ? ORDER BY seq");
  ev.bind(1, id);
  while (ev.step()) s.events.push_back({ev.get_text(0), ev.get_text(1), ev.get_text(2)});
  return s;
}

void put_as_is(connection& c, const shipment& s) {
  c.prepare("DELETE FROM shipment_events WHERE shipment_id = ?").bind(1, s.id).run();
  c.prepare("INSERT INTO shipments(id, order_id, customer_id, carrier, address, status, tracking, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET order_id = excluded.order_id,"
            " customer_id = excluded.customer_id, carrier = excluded.carrier, address = excluded.address,"
            " status = excluded.status, tracking = excluded.tracking, created_at = excluded.created_at,"
            " updated_at = excluded.updated_at")
      .bind_all(s.id, s.order_id, s.customer_id, s.carrier, s.address, s.status, s.tracking, s.created_at, s.updated_at)
      .run();
  for (std::size_t i = 0; i < s.events.size(); ++i)
    c.prepare("INSERT INTO shipment_events(shipment_id, seq, status, note, at) VALUES (?, ?, ?, ?, ?)")
        .bind_all(s.id, static_cast<std::int64_t>(i + 1), s.events[i].status, s.events[i].note, s.events[i].at)
        .run();
}

void remember_order(connection& c, std::int64_t order_id) {
  c.prepare("INSERT INTO orders_seen(order_id) VALUES (?) ON CONFLICT DO NOTHING").bind(1, order_id).run();
}

bool knows_order(connection& c, std::int64_t order_id) {
  auto st = c.prepare("SELECT 1 FROM orders_seen WHERE order_id = ?");
  st.bind(1, order_id);
  return st.step();
}

booking_outcome book(connection& c, std::int64_t order_id, std::int64_t customer_id, const std::string& address,
                     std::int64_t item_count, const std::string& fail_reason) {
  auto decided = c.prepare("SELECT 1 FROM bookings WHERE order_id = ?");
  decided.bind(1, order_id);
  if (decided.step() || find(c, order_id)) return booking_outcome::already;
  const std::string now = banyan::now_rfc3339();
  std::string why = fail_reason;
  const auto carrier = why.empty() ? choose_carrier(address, item_count, why) : std::nullopt;
  if (!carrier) {
    c.prepare("INSERT INTO bookings(order_id, outcome, reason, at) VALUES (?, 'failed', ?, ?)")
        .bind_all(order_id, why, now)
        .run();
    outbox().append(c, "shipment.failed", "shipment", std::to_string(order_id),
                    json::object{{"order_id", order_id}, {"reason", why}});
    return booking_outcome::failed;
  }
  shipment s{order_id, order_id, customer_id, *carrier,
             *carrier == "pickup" ? std::string("collect at the shop") : address,
             "booked", tracking_for(order_id), {{"booked", "with " + *carrier, now}}, now, now};
  put_as_is(c, s);
  c.prepare("INSERT INTO bookings(order_id, outcome, reason, at) VALUES (?, 'booked', '', ?)").bind_all(order_id, now).run();
  outbox().append(c, "shipment.booked", "shipment", std::to_string(order_id), to_json(s));
  return booking_outcome::booked;
}

bool report(connection& c, shipment& s, const std::string& status, const std::string& note) {
  if (!may_follow(s.status, status)) return false;
  s.status = status;
  s.updated_at = banyan::now_rfc3339();
  s.events.push_back({status, note, s.updated_at});
  c.prepare("UPDATE shipments SET status = ?, updated_at = ? WHERE id = ?").bind_all(s.status, s.updated_at, s.id).run();
  c.prepare("INSERT INTO shipment_events(shipment_id, seq, status, note, at) VALUES (?, ?, ?, ?, ?)")
      .bind_all(s.id, static_cast<std::int64_t>(s.events.size()), status, note, s.updated_at)
      .run();
  outbox().append(c, status == "cancelled" ? "shipment.cancelled" : "shipment.updated", "shipment", std::to_string(s.id),
                  to_json(s));
  return true;
}

fence current_fence(connection& c) {
  auto st = c.prepare("SELECT up, owner, since, at FROM fence WHERE id = 1");
  if (!st.step()) return {};
  return {st.get_int64(0) != 0, st.get_text(1), st.get_int64(2), st.get_text(3)};
}

void set_fence(connection& c, const fence& f) {
  c.prepare("UPDATE fence SET up = ?, owner = ?, since = ?, at = ? WHERE id = 1")
      .bind_all(std::int64_t{f.up ? 1 : 0}, f.owner, f.since, f.at)
      .run();
}

}  // namespace shipping
