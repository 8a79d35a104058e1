#pragma once
// The catalog module: products in categories. Owns the catalog_* tables. Other modules use the
// in-process interface below (prices and existence), never the tables.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "common/shop_http.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shop::catalog {

struct product {
  std::int64_t id = 0;
  std::string sku;
  std::string name;
  std::string description;
  std::string category;
  std::int64_t price_cents = 0;
  std::string currency;
  std::string updated_at;
};

struct product_input {
  std::string sku;
  std::string name;
  std::string description;
  std::string category;
  std::int64_t price_cents = 0;
  std::string currency;
};

struct list_query {
  std::string category;
  std::string q;
  std::int64_t page = 1;
  std::int64_t page_size = 20;
};

struct product_page {
  std::vector<product> items;
  std::int64_t total = 0;
};

std::span<const banyan::sqlite::migration> migrations();

// Pure rules. SKUs are 3..32 of [A-Z0-9-]; currency is an ISO 4217 code; prices are whole cents,
// 0 to 100,000,000.
bool valid_sku(std::string_view sku) noexcept;
bool valid_currency(std::string_view code) noexcept;
std::optional<product_input> parse_product_input(const boost::json::object& body, field_errors& errors);
// Query string → list_query; nullopt with a message when a parameter is out of range.
std::optional<list_query> parse_list_query(const banyan::http::request& req, std::string& message);
boost::json::object to_json(const product& p);

// The in-process interface.
std::optional<product> find(banyan::sqlite::connection& c, std::int64_t id);
std::optional<product> find_by_sku(banyan::sqlite::connection& c, std::string_view sku);
product_page list(banyan::sqlite::connection& c, const list_query& q);
// Throws sqlite::error with a constraint code when the SKU is taken.
product create(banyan::sqlite::connection& c, const product_input& in);
std::optional<product> update(banyan::sqlite::connection& c, std::int64_t id, const product_input& in);
bool remove(banyan::sqlite::connection& c, std::int64_t id);

// A product exactly as another owner has it (id and timestamp included), and its removal: for the
// reverse sync (catalog_follow.hpp). Nothing is appended to the outbox.
void put_as_is(banyan::sqlite::connection& c, const product& p);
void erase_as_is(banyan::sqlite::connection& c, std::int64_t id);

void register_routes(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace shop::catalog
