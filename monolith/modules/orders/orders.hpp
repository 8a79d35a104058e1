#pragma once
// The orders module: placing and cancelling orders. Owns the orders_* tables. Asks catalog for
// prices, customers for the buyer and inventory for stock, through their interfaces, all inside
// the one transaction that records the order.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "common/shop_http.hpp"
#include "modules/inventory/inventory.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shop::orders {

struct order_item {
  std::int64_t product_id = 0;
  std::int64_t quantity = 0;
};

struct order_request {
  std::int64_t customer_id = 0;
  std::vector<order_item> items;
};

struct order_line {
  std::int64_t product_id = 0;
  std::string sku;
  std::string name;
  std::int64_t unit_price_cents = 0;
  std::int64_t quantity = 0;
  std::int64_t line_total_cents = 0;
};

struct order_totals {
  std::int64_t item_count = 0;
  std::int64_t subtotal_cents = 0;
  std::int64_t total_cents = 0;
};

struct order {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  // placed (its shipment not booked yet) | confirmed (booked) | cancelled (cancel_reason says why)
  std::string status;
  std::optional<std::string> cancel_reason;
  std::string currency;
  std::vector<order_line> lines;
  order_totals totals;
  std::string created_at;
  std::string updated_at;
};

inline constexpr std::size_t max_items = 50;
inline constexpr std::int64_t max_quantity = 1000;

std::span<const banyan::sqlite::migration> migrations();

// Pure rules.
std::optional<order_request> parse_order_request(const boost::json::object& body, field_errors& errors);
// Fills line totals and returns the order's totals; nullopt when a sum would overflow.
std::optional<order_totals> price_lines(std::vector<order_line>& lines);
boost::json::object to_json(const order& o);

struct place_result {
  std::optional<order> placed;
  field_errors errors;                          // 422: unknown customer or products, mixed currencies
  std::optional<inventory::shortage> shortage;  // 409
};
// How an order's shipment is arranged: booked in the order's own transaction while this monolith
// owns shipping — the order is confirmed, or cancelled with the reason when no carrier serves the
// customer's address — or, once shipping is a service of its own, asked of it through the feed: the
// order stays placed until the service answers (a saga, docs/saga.md).
struct shipping_policy {
  bool book_in_process = true;
  std::int64_t booking_timeout_ms = 30'000;
};
inline constexpr const char* shipment_saga = "order.shipment";
std::string saga_id(std::int64_t order_id);

// Inside the caller's transaction. Writes nothing unless the order is placed, so a refused order
// leaves no trace even in a longer transaction.
place_result place(banyan::sqlite::connection& c, const order_request& req, const shipping_policy& shipping = {});
// The order is confirmed (its shipment booked): order.confirmed. False when it is not placed.
bool confirm(banyan::sqlite::connection& c, std::int64_t id);
// Cancels the order with `reason`, releases its stock: order.cancelled. False when it was not open.
bool cancel(banyan::sqlite::connection& c, std::int64_t id, const std::string& reason);
std::optional<order> find(banyan::sqlite::connection& c, std::int64_t id);
std::vector<order> for_customer(banyan::sqlite::connection& c, std::int64_t customer_id);

// `booking_timeout_ms`: how long an order waits for the shipping service's answer once shipping's
// writes are the service's (then the order is cancelled).
void register_routes(banyan::http::router& r, banyan::sqlite::pool& db, std::int64_t booking_timeout_ms = 30'000);

}  // namespace shop::orders
