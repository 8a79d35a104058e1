#pragma once
// The customers module: buyers. Owns the customers_* tables.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "common/shop_http.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace shop::customers {

struct customer {
  std::int64_t id = 0;
  std::string email;
  std::string name;
  std::string created_at;
  std::string address;  // where orders are shipped: "street, city, country"; empty: collected at the shop
};

struct customer_input {
  std::string email;
  std::string name;
  std::string address;
};

std::span<const banyan::sqlite::migration> migrations();

// Pure rules: a plausible address (local@domain.tld, no spaces), stored lower-cased.
bool valid_email(std::string_view email) noexcept;
std::optional<customer_input> parse_customer_input(const boost::json::object& body, field_errors& errors);
boost::json::object to_json(const customer& c);

// The in-process interface.
std::optional<customer> find(banyan::sqlite::connection& c, std::int64_t id);
// Throws sqlite::error with a constraint code when the email is taken.
customer create(banyan::sqlite::connection& c, const customer_input& in);

void register_routes(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace shop::customers
