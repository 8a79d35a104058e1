#pragma once
// The inventory module: stock per SKU and the reservations orders hold against it.
// Owns the inventory_* tables. available = on_hand - reserved, never negative.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shop::inventory {

struct stock {
  std::string sku;
  std::int64_t on_hand = 0;
  std::int64_t reserved = 0;
  std::string updated_at;
  std::int64_t available() const noexcept { return on_hand - reserved; }
};

struct reservation_line {
  std::string sku;
  std::int64_t quantity = 0;
};

struct shortage {
  std::string sku;
  std::int64_t requested = 0;
  std::int64_t available = 0;
};

std::span<const banyan::sqlite::migration> migrations();

// Pure rule: the first line that cannot be served from what is available, if any. Lines with the
// same SKU add up.
std::optional<shortage> find_shortage(const std::vector<reservation_line>& lines, const std::vector<stock>& levels);
boost::json::object to_json(const stock& s);

// The in-process interface; call inside the caller's transaction.
std::optional<stock> find(banyan::sqlite::connection& c, std::string_view sku);
// Sets on_hand; nullopt (nothing changed) when it would fall below what is reserved.
std::optional<stock> set_on_hand(banyan::sqlite::connection& c, std::string_view sku, std::int64_t on_hand);
// The shortage the lines would hit now, if any; changes nothing.
std::optional<shortage> shortage_for(banyan::sqlite::connection& c, const std::vector<reservation_line>& lines);
// All or nothing: reserves every line for the order, or returns the shortage and changes nothing.
std::optional<shortage> reserve(banyan::sqlite::connection& c, std::int64_t order_id,
                                const std::vector<reservation_line>& lines);
// Releases what the order holds; no-op when it holds nothing.
void release(banyan::sqlite::connection& c, std::int64_t order_id);

void register_routes(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace shop::inventory
