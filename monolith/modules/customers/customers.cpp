#include "modules/customers/customers.hpp"

#include "banyan/platform/clock.hpp"
#include "modules/outbox/outbox.hpp"

#include <array>

namespace shop::customers {

namespace json = boost::json;
namespace http = banyan::http;
using banyan::sqlite::connection;

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 2> list{{
      {1, "create customers_customers",
       "CREATE TABLE customers_customers ("
       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
       " email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created_at TEXT NOT NULL)"},
      {2, "customers have a shipping address", "ALTER TABLE customers_customers ADD COLUMN address TEXT NOT NULL DEFAULT ''"},
  }};
  return list;
}

bool valid_email(std::string_view email) noexcept {
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos) return false;
  const auto domain = email.substr(at + 1);
  const auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
  for (char c : email)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  return true;
}

std::optional<customer_input> parse_customer_input(const json::object& body, field_errors& errors) {
  reject_unknown(body, {"email", "name", "address"}, errors);
  auto email = require_string(body, "email", errors, 3, 254);
  if (email) {
    for (auto& ch : *email)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    if (!valid_email(*email)) errors.add("email", "must be an email address");
  }
  auto name = require_string(body, "name", errors, 1, 200);
  std::string address;
  if (const auto* a = body.if_contains("address")) {
    if (!a->is_string() || a->as_string().size() > 300) errors.add("address", "must be a string of at most 300 characters");
    else address = std::string(a->as_string());
  }
  if (!errors.empty()) return std::nullopt;
  return customer_input{*email, *name, address};
}

json::object to_json(const customer& c) {
  return {{"id", c.id}, {"email", c.email}, {"name", c.name}, {"address", c.address}, {"created_at", c.created_at}};
}

std::optional<customer> find(connection& c, std::int64_t id) {
  auto st = c.prepare("SELECT id, email, name, created_at, address FROM customers_customers WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return customer{st.get_int64(0), st.get_text(1), st.get_text(2), st.get_text(3), st.get_text(4)};
}

customer create(connection& c, const customer_input& in) {
  const std::string now = banyan::now_rfc3339();
  c.prepare("INSERT INTO customers_customers(email, name, created_at, address) VALUES (?, ?, ?, ?)")
      .bind_all(in.email, in.name, now, in.address)
      .run();
  customer out{c.last_insert_rowid(), in.email, in.name, now, in.address};
  outbox::append(c, "customer.created", "customer", std::to_string(out.id), to_json(out));
  return out;
}

void register_routes(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/api/customers/{id}", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("customer");
    auto conn = db.acquire();
    auto c = find(*conn, *id);
    if (!c) return not_found("customer");
    json::object body = to_json(*c);
    stamp(body, req);
    return http::json_response(200, body);
  });

  r.add("POST", "/api/customers", [&db](http::request& req) {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    field_errors errors;
    auto in = parse_customer_input(*body, errors);
    if (!in) return errors.to_response();
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    try {
      auto c = create(*conn, *in);
      commit_unless_dry_run(tx, req);
      return http::json_response(201, to_json(c));
    } catch (const banyan::sqlite::error& e) {
      if (!e.is_constraint()) throw;
      return http::error_response(409, "email_taken", "a customer with this email already exists");
    }
  });
}

}  // namespace shop::customers
