#include "modules/inventory/inventory.hpp"

#include "banyan/platform/clock.hpp"
#include "common/shop_http.hpp"
#include "modules/catalog/catalog.hpp"
#include "modules/outbox/outbox.hpp"

#include <array>
#include <map>

namespace shop::inventory {

namespace json = boost::json;
namespace http = banyan::http;
using banyan::sqlite::connection;

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 1> list{{
      {1, "create inventory tables",
       "CREATE TABLE inventory_stock ("
       " sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL CHECK (on_hand >= 0),"
       " reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),"
       " updated_at TEXT NOT NULL);"
       "CREATE TABLE inventory_reservations ("
       " order_id INTEGER NOT NULL, sku TEXT NOT NULL REFERENCES inventory_stock(sku),"
       " quantity INTEGER NOT NULL CHECK (quantity > 0), PRIMARY KEY (order_id, sku));"},
  }};
  return list;
}

std::optional<shortage> find_shortage(const std::vector<reservation_line>& lines, const std::vector<stock>& levels) {
  std::map<std::string, std::int64_t> wanted;
  std::vector<std::string> order;
  for (const auto& l : lines) {
    if (!wanted.contains(l.sku)) order.push_back(l.sku);
    wanted[l.sku] += l.quantity;
  }
  for (const auto& sku : order) {
    std::int64_t available = 0;
    for (const auto& s : levels)
      if (s.sku == sku) available = s.available();
    if (wanted[sku] > available) return shortage{sku, wanted[sku], available};
  }
  return std::nullopt;
}

json::object to_json(const stock& s) {
  return {{"sku", s.sku},
          {"on_hand", s.on_hand},
          {"reserved", s.reserved},
          {"available", s.available()},
          {"updated_at", s.updated_at}};
}

std::optional<stock> find(connection& c, std::string_view sku) {
  auto st = c.prepare("SELECT sku, on_hand, reserved, updated_at FROM inventory_stock WHERE sku = ?");
  st.bind(1, sku);
  if (!st.step()) return std::nullopt;
  return stock{st.get_text(0), st.get_int64(1), st.get_int64(2), st.get_text(3)};
}

namespace {
void announce(connection& c, const stock& s, std::string_view reason) {
  json::object payload = to_json(s);
  payload["reason"] = reason;
  outbox::append(c, "stock.changed", "stock", s.sku, payload);
}
}  // namespace

std::optional<stock> set_on_hand(connection& c, std::string_view sku, std::int64_t on_hand) {
  auto current = find(c, sku);
  if (current && on_hand < current->reserved) return std::nullopt;
  const std::string now = banyan::now_rfc3339();
  c.prepare("INSERT INTO inventory_stock(sku, on_hand, reserved, updated_at) VALUES (?1, ?2, 0, ?3)"
            " ON CONFLICT(sku) DO UPDATE SET on_hand = ?2, updated_at = ?3")
      .bind_all(sku, on_hand, now)
      .run();
  stock s{std::string(sku), on_hand, current ? current->reserved : 0, now};
  announce(c, s, "set");
  return s;
}

std::optional<shortage> shortage_for(connection& c, const std::vector<reservation_line>& lines) {
  std::vector<stock> levels;
  for (const auto& l : lines)
    if (auto s = find(c, l.sku)) levels.push_back(*s);
  return find_shortage(lines, levels);
}

std::optional<shortage> reserve(connection& c, std::int64_t order_id, const std::vector<reservation_line>& lines) {
  if (auto short_line = shortage_for(c, lines)) return short_line;
  const std::string now = banyan::now_rfc3339();
  for (const auto& l : lines) {
    c.prepare("UPDATE inventory_stock SET reserved = reserved + ?, updated_at = ? WHERE sku = ?")
        .bind_all(l.quantity, now, l.sku)
        .run();
    c.prepare("INSERT INTO inventory_reservations(order_id, sku, quantity) VALUES (?1, ?2, ?3)"
              " ON CONFLICT(order_id, sku) DO UPDATE SET quantity = quantity + ?3")
        .bind_all(order_id, l.sku, l.quantity)
        .run();
  }
  for (const auto& l : lines)
    if (auto s = find(c, l.sku)) announce(c, *s, "reserved");
  return std::nullopt;
}

void release(connection& c, std::int64_t order_id) {
  std::vector<reservation_line> held;
  auto st = c.prepare("SELECT sku, quantity FROM inventory_reservations WHERE order_id = ? ORDER BY sku");
  st.bind(1, order_id);
  while (st.step()) held.push_back({st.get_text(0), st.get_int64(1)});
  const std::string now = banyan::now_rfc3339();
  for (const auto& l : held) {
    c.prepare("UPDATE inventory_stock SET reserved = reserved - ?, updated_at = ? WHERE sku = ?")
        .bind_all(l.quantity, now, l.sku)
        .run();
    if (auto s = find(c, l.sku)) announce(c, *s, "released");
  }
  c.prepare("DELETE FROM inventory_reservations WHERE order_id = ?").bind(1, order_id).run();
}

void register_routes(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/api/inventory/{sku}", [&db](http::request& req) {
    const std::string sku(req.param("sku"));
    auto conn = db.acquire();
    auto s = catalog::valid_sku(sku) ? find(*conn, sku) : std::nullopt;
    if (!s) return not_found("stock for sku " + sku);
    json::object body = to_json(*s);
    stamp(body, req);
    return http::json_response(200, body);
  });

  r.add("PUT", "/api/inventory/{sku}", [&db](http::request& req) {
    const std::string sku(req.param("sku"));
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    field_errors errors;
    reject_unknown(*body, {"on_hand"}, errors);
    auto on_hand = require_int(*body, "on_hand", errors, 0, 1'000'000'000);
    if (!errors.empty()) return errors.to_response();
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    // Stock is kept only for products the catalog knows.
    if (!catalog::valid_sku(sku) || !catalog::find_by_sku(*conn, sku)) return not_found("product with sku " + sku);
    auto s = set_on_hand(*conn, sku, *on_hand);
    if (!s) {
      field_errors below;
      below.add("on_hand", "cannot be below the reserved quantity");
      return below.to_response();
    }
    commit_unless_dry_run(tx, req);
    return http::json_response(200, to_json(*s));
  });
}

}  // namespace shop::inventory
