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
  std::string status;  // placed | cancelled
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
// Inside the caller's transaction. Writes nothing unless the order is placed, so a refused order
// leaves no trace even in a longer transaction.
place_result place(banyan::sqlite::connection& c, const order_request& req);
std::optional<order> find(banyan::sqlite::connection& c, std::int64_t id);
std::vector<order> for_customer(banyan::sqlite::connection& c, std::int64_t customer_id);

void register_routes(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace shop::orders
