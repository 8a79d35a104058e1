#include "modules/orders/orders.hpp"

#include "banyan/platform/clock.hpp"
#include "modules/catalog/catalog.hpp"
#include "modules/customers/customers.hpp"
#include "modules/outbox/outbox.hpp"
#include "modules/shipping/shipping.hpp"

#include "banyan/sync/saga_store.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <set>

namespace shop::orders {

namespace json = boost::json;
namespace http = banyan::http;
using banyan::sqlite::connection;

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 2> list{{
      {1, "create orders tables",
       "CREATE TABLE orders_orders ("
       " id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id INTEGER NOT NULL,"
       " status TEXT NOT NULL CHECK (status IN ('placed', 'cancelled')), currency TEXT NOT NULL,"
       " item_count INTEGER NOT NULL, subtotal_cents INTEGER NOT NULL, total_cents INTEGER NOT NULL,"
       " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
       "CREATE INDEX orders_orders_customer ON orders_orders(customer_id, id);"
       "CREATE TABLE orders_lines ("
       " order_id INTEGER NOT NULL REFERENCES orders_orders(id), line_no INTEGER NOT NULL,"
       " product_id INTEGER NOT NULL, sku TEXT NOT NULL, name TEXT NOT NULL,"
       " unit_price_cents INTEGER NOT NULL, quantity INTEGER NOT NULL, line_total_cents INTEGER NOT NULL,"
       " PRIMARY KEY (order_id, line_no));"},
      // Orders wait for their shipment: confirmed once it is booked, or cancelled and why. (A
      // column, not a new status value: SQLite would rebuild the table the lines point at.)
      {2, "orders are confirmed or cancelled with a reason",
       "ALTER TABLE orders_orders ADD COLUMN confirmed_at TEXT;"
       "ALTER TABLE orders_orders ADD COLUMN cancel_reason TEXT;"},
  }};
  return list;
}

std::optional<order_request> parse_order_request(const json::object& body, field_errors& errors) {
  reject_unknown(body, {"customer_id", "items"}, errors);
  order_request out;
  auto customer = require_int(body, "customer_id", errors, 1, INT64_MAX);
  const json::value* items = body.if_contains("items");
  if (!items || !items->is_array()) {
    errors.add("items", items ? "must be an array" : "is required");
  } else if (items->as_array().empty() || items->as_array().size() > max_items) {
    errors.add("items", "must hold 1 to " + std::to_string(max_items) + " items");
  } else {
    std::set<std::int64_t> seen;
    const auto& arr = items->as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string path = "items[" + std::to_string(i) + "]";
      if (!arr[i].is_object()) {
        errors.add(path, "must be an object");
        continue;
      }
      const auto& item = arr[i].as_object();
      reject_unknown(item, {"product_id", "quantity"}, errors, path + ".");
      auto pid = require_int(item, "product_id", errors, 1, INT64_MAX, path + ".product_id");
      auto qty = require_int(item, "quantity", errors, 1, max_quantity, path + ".quantity");
      if (pid && !seen.insert(*pid).second) errors.add(path + ".product_id", "appears more than once");
      if (pid && qty) out.items.push_back({*pid, *qty});
    }
  }
  if (!errors.empty()) return std::nullopt;
  out.customer_id = *customer;
  return out;
}

std::optional<order_totals> price_lines(std::vector<order_line>& lines) {
  order_totals t;
  for (auto& l : lines) {
    if (__builtin_mul_overflow(l.unit_price_cents, l.quantity, &l.line_total_cents)) return std::nullopt;
    if (__builtin_add_overflow(t.subtotal_cents, l.line_total_cents, &t.subtotal_cents)) return std::nullopt;
    t.item_count += l.quantity;
  }
  t.total_cents = t.subtotal_cents;
  return t;
}

json::object to_json(const order& o) {
  json::array lines;
  for (const auto& l : o.lines)
    lines.push_back(json::object{{"product_id", l.product_id},
                                 {"sku", l.sku},
                                 {"name", l.name},
                                 {"unit_price_cents", l.unit_price_cents},
                                 {"quantity", l.quantity},
                                 {"line_total_cents", l.line_total_cents}});
  return {{"id", o.id},
          {"customer_id", o.customer_id},
          {"status", o.status},
          {"cancel_reason", o.cancel_reason ? json::value(*o.cancel_reason) : json::value(nullptr)},
          {"currency", o.currency},
          {"lines", std::move(lines)},
          {"item_count", o.totals.item_count},
          {"subtotal_cents", o.totals.subtotal_cents},
          {"total_cents", o.totals.total_cents},
          {"created_at", o.created_at},
          {"updated_at", o.updated_at}};
}

std::string saga_id(std::int64_t order_id) { return "order-" + std::to_string(order_id); }

place_result place(connection& c, const order_request& req, const shipping_policy& shipping_how) {
  place_result result;
  const auto buyer = customers::find(c, req.customer_id);
  if (!buyer) result.errors.add("customer_id", "no such customer");
  order o;
  o.customer_id = req.customer_id;
  o.status = "placed";
  for (std::size_t i = 0; i < req.items.size(); ++i) {
    auto p = catalog::find(c, req.items[i].product_id);
    if (!p) {
      result.errors.add("items[" + std::to_string(i) + "].product_id", "no such product");
      continue;
    }
    if (o.currency.empty()) o.currency = p->currency;
    else if (o.currency != p->currency)
      result.errors.add("items[" + std::to_string(i) + "].product_id", "is priced in " + p->currency +
                                                                           ", the order in " + o.currency);
    o.lines.push_back({p->id, p->sku, p->name, p->price_cents, req.items[i].quantity, 0});
  }
  if (!result.errors.empty()) return result;
  auto totals = price_lines(o.lines);
  if (!totals) {
    result.errors.add("items", "order total is too large");
    return result;
  }
  o.totals = *totals;
  std::vector<inventory::reservation_line> wanted;
  for (const auto& l : o.lines) wanted.push_back({l.sku, l.quantity});
  if (auto s = inventory::shortage_for(c, wanted)) {
    result.shortage = *s;
    return result;
  }
  o.created_at = o.updated_at = banyan::now_rfc3339();
  c.prepare("INSERT INTO orders_orders(customer_id, status, currency, item_count, subtotal_cents, total_cents,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(o.customer_id, o.status, o.currency, o.totals.item_count, o.totals.subtotal_cents,
                o.totals.total_cents, o.created_at, o.updated_at)
      .run();
  o.id = c.last_insert_rowid();
  for (std::size_t i = 0; i < o.lines.size(); ++i) {
    const auto& l = o.lines[i];
    c.prepare("INSERT INTO orders_lines(order_id, line_no, product_id, sku, name, unit_price_cents, quantity,"
              " line_total_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(o.id, static_cast<std::int64_t>(i + 1), l.product_id, l.sku, l.name, l.unit_price_cents, l.quantity,
                  l.line_total_cents)
        .run();
  }
  // Checked above within this transaction, so the reservation cannot come up short.
  inventory::reserve(c, o.id, wanted);
  if (shipping_how.book_in_process) {
    const auto booking = shipping::book(c, o.id, o.customer_id, buyer->address, o.totals.item_count);
    if (booking.booked) {
      o.status = "confirmed";
      c.prepare("UPDATE orders_orders SET confirmed_at = ? WHERE id = ?").bind_all(o.updated_at, o.id).run();
    } else {
      // The same end as the saga's compensation: cancelled, its stock released, and why.
      o.status = "cancelled";
      o.cancel_reason = "shipment failed: " + booking.failure;
      inventory::release(c, o.id);
      c.prepare("UPDATE orders_orders SET status = 'cancelled', cancel_reason = ? WHERE id = ?")
          .bind_all(*o.cancel_reason, o.id)
          .run();
    }
  } else {
    const auto now = banyan::unix_ms();
    banyan::sync::saga::begin(c, saga_id(o.id), shipment_saga, "shipment booking", now,
                              now + shipping_how.booking_timeout_ms);
  }
  // The shipping side books from this event when the order says placed (not yet booked here): it
  // carries where to ship, which the order's own answer does not.
  auto event = to_json(o);
  event["ship_to"] = buyer->address;
  outbox::append(c, "order.placed", "order", std::to_string(o.id), event);
  result.placed = std::move(o);
  return result;
}

bool confirm(connection& c, std::int64_t id) {
  auto o = find(c, id);
  if (!o || o->status != "placed") return false;
  o->status = "confirmed";
  o->updated_at = banyan::now_rfc3339();
  c.prepare("UPDATE orders_orders SET confirmed_at = ?, updated_at = ? WHERE id = ?")
      .bind_all(o->updated_at, o->updated_at, id)
      .run();
  outbox::append(c, "order.confirmed", "order", std::to_string(id), to_json(*o));
  return true;
}

bool cancel(connection& c, std::int64_t id, const std::string& reason) {
  auto o = find(c, id);
  if (!o || o->status == "cancelled") return false;
  o->status = "cancelled";
  o->cancel_reason = reason;
  o->updated_at = banyan::now_rfc3339();
  c.prepare("UPDATE orders_orders SET status = 'cancelled', cancel_reason = ?, updated_at = ? WHERE id = ?")
      .bind_all(reason, o->updated_at, id)
      .run();
  inventory::release(c, id);
  outbox::append(c, "order.cancelled", "order", std::to_string(id), to_json(*o));
  return true;
}

namespace {
order read_order(connection& c, const banyan::sqlite::statement& st) {
  order o;
  o.id = st.get_int64(0);
  o.customer_id = st.get_int64(1);
  o.status = st.get_text(2) == "placed" && !st.is_null(9) ? "confirmed" : st.get_text(2);
  o.cancel_reason = st.get_optional_text(10);
  o.currency = st.get_text(3);
  o.totals = {st.get_int64(4), st.get_int64(5), st.get_int64(6)};
  o.created_at = st.get_text(7);
  o.updated_at = st.get_text(8);
  auto lines = c.prepare("SELECT product_id, sku, name, unit_price_cents, quantity, line_total_cents"
                         " FROM orders_lines WHERE order_id = ? ORDER BY line_no");
  lines.bind(1, o.id);
  while (lines.step())
    o.lines.push_back({lines.get_int64(0), lines.get_text(1), lines.get_text(2), lines.get_int64(3),
                       lines.get_int64(4), lines.get_int64(5)});
  return o;
}

constexpr std::string_view order_columns =
    "SELECT id, customer_id, status, currency, item_count, subtotal_cents, total_cents, created_at, updated_at,"
    " confirmed_at, cancel_reason FROM orders_orders ";
}  // namespace

std::optional<order> find(connection& c, std::int64_t id) {
  auto st = c.prepare(std::string(order_columns) + "WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_order(c, st);
}

std::vector<order> for_customer(connection& c, std::int64_t customer_id) {
  auto st = c.prepare(std::string(order_columns) + "WHERE customer_id = ? ORDER BY id");
  st.bind(1, customer_id);
  std::vector<order> out;
  while (st.step()) out.push_back(read_order(c, st));
  return out;
}

void register_routes(http::router& r, banyan::sqlite::pool& db, std::int64_t booking_timeout_ms) {
  r.add("POST", "/api/orders", [&db, booking_timeout_ms](http::request& req) {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    field_errors errors;
    auto in = parse_order_request(*body, errors);
    if (!in) return errors.to_response();
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    // Who books the shipment is read in the order's own transaction: the fence moves in one of its own.
    auto result = place(*conn, *in, {!shipping::current_fence(*conn), booking_timeout_ms});
    if (!result.errors.empty()) return result.errors.to_response();
    if (result.shortage) {
      const auto& s = *result.shortage;
      return http::json_response(
          409, json::object{{"error", json::object{{"code", "insufficient_stock"},
                                                   {"message", "not enough stock for " + s.sku},
                                                   {"sku", s.sku},
                                                   {"requested", s.requested},
                                                   {"available", s.available}}}});
    }
    commit_unless_dry_run(tx, req);
    auto res = http::json_response(201, to_json(*result.placed));
    res.headers.set("Location", "/api/orders/" + std::to_string(result.placed->id));
    return res;
  });

  r.add("GET", "/api/orders/{id}", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("order");
    auto conn = db.acquire();
    auto o = find(*conn, *id);
    if (!o) return not_found("order");
    json::object body = to_json(*o);
    stamp(body, req);
    return http::json_response(200, body);
  });

  r.add("POST", "/api/orders/{id}/cancel", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("order");
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    auto o = find(*conn, *id);
    if (!o) return not_found("order");
    if (o->status == "cancelled")
      return http::error_response(409, "already_cancelled", "order " + std::to_string(*id) + " is already cancelled");
    // Its shipment is cancelled with it — unless the carrier has it already. While shipping's writes
    // are the service's, the service cancels it when it reads order.cancelled; the copy here says
    // whether it still can.
    const bool shipping_here = !shipping::current_fence(*conn);
    if (auto s = shipping::find(*conn, *id); s && s->status != "cancelled") {
      if (!shipping::may_follow(s->status, "cancelled"))
        return http::error_response(409, "shipment_under_way",
                                    "order " + std::to_string(*id) + " cannot be cancelled: its shipment is " + s->status);
      if (shipping_here) shipping::report(*conn, *s, "cancelled", "the order was cancelled");
    }
    // A saga waiting for the shipping service ends here; the service cancels what it booked when
    // it reads order.cancelled.
    banyan::sync::saga::abandon(*conn, saga_id(*id), "cancelled by the customer", banyan::unix_ms());
    cancel(*conn, *id, "cancelled by the customer");
    commit_unless_dry_run(tx, req);
    return http::json_response(200, to_json(*find(*conn, *id)));
  });

  r.add("GET", "/api/customers/{id}/orders", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("customer");
    auto conn = db.acquire();
    if (!customers::find(*conn, *id)) return not_found("customer");
    json::array items;
    for (const auto& o : for_customer(*conn, *id)) items.push_back(to_json(o));
    json::object body{{"customer_id", *id}, {"items", std::move(items)}};
    stamp(body, req);
    return http::json_response(200, body);
  });
}

}  // namespace shop::orders
