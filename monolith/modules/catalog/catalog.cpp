#include "modules/catalog/catalog.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/sync/range_checksum.hpp"
#include "modules/outbox/outbox.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

namespace shop::catalog {

namespace json = boost::json;
namespace http = banyan::http;
using banyan::sqlite::connection;

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 1> list{{
      {1, "create catalog_products",
       "CREATE TABLE catalog_products ("
       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
       " sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, description TEXT NOT NULL,"
       " category TEXT NOT NULL, price_cents INTEGER NOT NULL CHECK (price_cents >= 0),"
       " currency TEXT NOT NULL, updated_at TEXT NOT NULL);"
       "CREATE INDEX catalog_products_category ON catalog_products(category, id);"},
  }};
  return list;
}

bool valid_sku(std::string_view sku) noexcept {
  if (sku.size() < 3 || sku.size() > 32) return false;
  for (char c : sku)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool valid_currency(std::string_view code) noexcept {
  if (code.size() != 3) return false;
  for (char c : code)
    if (c < 'A' || c > 'Z') return false;
  return true;
}

std::optional<product_input> parse_product_input(const json::object& body, field_errors& errors) {
  reject_unknown(body, {"sku", "name", "description", "category", "price_cents", "currency"}, errors);
  product_input in;
  auto sku = require_string(body, "sku", errors, 3, 32);
  if (sku && !valid_sku(*sku)) errors.add("sku", "must be upper-case letters, digits and '-'");
  auto name = require_string(body, "name", errors, 1, 200);
  auto description = require_string(body, "description", errors, 0, 4000);
  auto category = require_string(body, "category", errors, 1, 64);
  auto price = require_int(body, "price_cents", errors, 0, 100'000'000);
  auto currency = require_string(body, "currency", errors, 3, 3);
  if (currency && !valid_currency(*currency)) errors.add("currency", "must be an ISO 4217 code such as EUR");
  if (!errors.empty()) return std::nullopt;
  return product_input{*sku, *name, *description, *category, *price, *currency};
}

std::optional<list_query> parse_list_query(const http::request& req, std::string& message) {
  list_query q;
  auto number = [&](std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
    auto v = req.query_param(key);
    if (!v) return true;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size() || out < min || out > max) {
      message = std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
      return false;
    }
    return true;
  };
  if (!number("page", q.page, 1, 1'000'000) || !number("page_size", q.page_size, 1, 100)) return std::nullopt;
  if (auto c = req.query_param("category")) q.category = *c;
  if (auto s = req.query_param("q")) q.q = *s;
  return q;
}

json::object to_json(const product& p) {
  return {{"id", p.id},
          {"sku", p.sku},
          {"name", p.name},
          {"description", p.description},
          {"category", p.category},
          {"price_cents", p.price_cents},
          {"currency", p.currency},
          {"updated_at", p.updated_at}};
}

namespace {
constexpr std::string_view columns = "id, sku, name, description, category, price_cents, currency, updated_at";

product read_row(const banyan::sqlite::statement& st) {
  return {st.get_int64(0), st.get_text(1), st.get_text(2),  st.get_text(3),
          st.get_text(4),  st.get_int64(5), st.get_text(6), st.get_text(7)};
}

std::optional<product> find_where(connection& c, std::string_view where, auto key) {
  auto st = c.prepare("SELECT " + std::string(columns) + " FROM catalog_products WHERE " + std::string(where));
  st.bind(1, key);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

// LIKE with the user's text taken literally.
std::string like_pattern(std::string_view text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "%";
}
}  // namespace

std::optional<product> find(connection& c, std::int64_t id) { return find_where(c, "id = ?", id); }

std::optional<product> find_by_sku(connection& c, std::string_view sku) { return find_where(c, "sku = ?", sku); }

product_page list(connection& c, const list_query& q) {
  const std::string where =
      " WHERE (?1 = '' OR category = ?1)"
      " AND (?2 = '' OR name LIKE ?3 ESCAPE '\\' OR description LIKE ?3 ESCAPE '\\')";
  product_page page;
  auto count = c.prepare("SELECT COUNT(*) FROM catalog_products" + where);
  count.bind_all(q.category, q.q, like_pattern(q.q));
  count.step();
  page.total = count.get_int64(0);
  auto st = c.prepare("SELECT " + std::string(columns) + " FROM catalog_products" + where + " ORDER BY id LIMIT ?4 OFFSET ?5");
  st.bind_all(q.category, q.q, like_pattern(q.q), q.page_size, (q.page - 1) * q.page_size);
  while (st.step()) page.items.push_back(read_row(st));
  return page;
}

product create(connection& c, const product_input& in) {
  const std::string now = banyan::now_rfc3339();
  c.prepare("INSERT INTO catalog_products(sku, name, description, category, price_cents, currency, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(in.sku, in.name, in.description, in.category, in.price_cents, in.currency, now)
      .run();
  product p{c.last_insert_rowid(), in.sku, in.name, in.description, in.category, in.price_cents, in.currency, now};
  outbox::append(c, "product.created", "product", std::to_string(p.id), to_json(p));
  return p;
}

std::optional<product> update(connection& c, std::int64_t id, const product_input& in) {
  const std::string now = banyan::now_rfc3339();
  c.prepare("UPDATE catalog_products SET sku = ?, name = ?, description = ?, category = ?, price_cents = ?,"
            " currency = ?, updated_at = ? WHERE id = ?")
      .bind_all(in.sku, in.name, in.description, in.category, in.price_cents, in.currency, now, id)
      .run();
  if (c.changes() == 0) return std::nullopt;
  product p{id, in.sku, in.name, in.description, in.category, in.price_cents, in.currency, now};
  outbox::append(c, "product.updated", "product", std::to_string(id), to_json(p));
  return p;
}

bool remove(connection& c, std::int64_t id) {
  auto existing = find(c, id);
  if (!existing) return false;
  c.prepare("DELETE FROM catalog_products WHERE id = ?").bind(1, id).run();
  outbox::append(c, "product.deleted", "product", std::to_string(id), {{"id", id}, {"sku", existing->sku}});
  return true;
}

void put_as_is(connection& c, const product& p) {
  c.prepare_cached("INSERT INTO catalog_products(id, sku, name, description, category, price_cents, currency, updated_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                   " ON CONFLICT(id) DO UPDATE SET sku = ?2, name = ?3, description = ?4, category = ?5,"
                   " price_cents = ?6, currency = ?7, updated_at = ?8")
      ->bind_all(p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.currency, p.updated_at)
      .run();
}

void erase_as_is(connection& c, std::int64_t id) {
  c.prepare_cached("DELETE FROM catalog_products WHERE id = ?")->bind(1, id).run();
}

namespace {
http::response sku_conflict(std::string_view sku) {
  return http::error_response(409, "sku_taken", "a product with sku " + std::string(sku) + " already exists");
}

// Runs a create/update in one transaction, mapping a unique-SKU violation to 409.
template <class F>
http::response write_product(banyan::sqlite::pool& db, const http::request& req, const product_input& in, int status,
                             F&& change) {
  auto conn = db.acquire();
  banyan::sqlite::transaction tx(*conn);
  std::optional<product> p;
  try {
    p = change(*conn);
  } catch (const banyan::sqlite::error& e) {
    if (e.is_constraint()) return sku_conflict(in.sku);
    throw;
  }
  if (!p) return not_found("product");
  commit_unless_dry_run(tx, req);
  return http::json_response(status, to_json(*p));
}
}  // namespace

void register_routes(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/api/products", [&db](http::request& req) {
    std::string message;
    auto q = parse_list_query(req, message);
    if (!q) return http::error_response(400, "invalid_query", message);
    auto conn = db.acquire();
    auto page = list(*conn, *q);
    json::array items;
    for (const auto& p : page.items) items.push_back(to_json(p));
    json::object body{{"items", std::move(items)}, {"page", q->page}, {"page_size", q->page_size}, {"total", page.total}};
    stamp(body, req);
    return http::json_response(200, body);
  });

  // The catalog's rows for a backfill (docs/data-sync.md): in id order, a page after a given id, so a
  // row inserted or deleted meanwhile never shifts another out of the copy (offset paging would).
  r.add("GET", "/internal/snapshot/product", [&db](http::request& req) {
    std::int64_t after = 0, limit = 500;
    if (!read_query_int(req, "after", after, 0, INT64_MAX))
      return http::error_response(400, "invalid_query", "after must be a product id");
    if (!read_query_int(req, "limit", limit, 1, 1000)) return http::error_response(400, "invalid_query", "limit must be an integer from 1 to 1000");
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    // The total on the first page only: a COUNT on every page re-read the whole table each time
    // (a profile of a 100,000-row backfill: pread the largest cost); the follower keeps the first.
    std::optional<std::int64_t> total;
    if (after == 0) {
      auto count = conn->prepare("SELECT COUNT(*) FROM catalog_products");
      count.step();
      total = count.get_int64(0);
    }
    auto st = conn->prepare("SELECT " + std::string(columns) + " FROM catalog_products WHERE id > ? ORDER BY id LIMIT ?");
    st.bind_all(after, limit + 1);  // one more tells whether this page is the last
    json::array items;
    std::int64_t next = after;
    bool done = true;
    while (st.step()) {
      if (static_cast<std::int64_t>(items.size()) == limit) {
        done = false;
        break;
      }
      const product p = read_row(st);
      next = p.id;
      items.push_back(json::object{{"key", std::to_string(p.id)}, {"payload", to_json(p)}});
    }
    tx.commit();
    json::object body{{"items", std::move(items)}, {"next", std::to_string(next)}, {"done", done}};
    if (total) body["total"] = *total;
    return http::json_response(200, std::move(body));
  });

  // Checksums of the products by id range, for `banyan data verify` (banyan/sync/range_checksum.hpp):
  // each row as the listing shows it.
  r.add("GET", "/internal/checksum/products", [&db](http::request& req) {
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    return banyan::sync::serve_range_checksum(req, "id", [&](const auto& q, int limit, const auto& each) {
      auto st = conn->prepare_cached("SELECT " + std::string(columns) +
                                     " FROM catalog_products WHERE id > ? AND id <= ? ORDER BY id LIMIT ?");
      st->bind_all(q.after.value_or(INT64_MIN), q.through.value_or(INT64_MAX), limit);
      while (st->step()) {
        const product p = read_row(*st);
        each(p.id, to_json(p));
      }
    });
  });

  r.add("GET", "/api/products/{id}", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("product");
    auto conn = db.acquire();
    auto p = find(*conn, *id);
    if (!p) return not_found("product");
    json::object body = to_json(*p);
    stamp(body, req);
    return http::json_response(200, body);
  });

  r.add("POST", "/api/products", [&db](http::request& req) {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    field_errors errors;
    auto in = parse_product_input(*body, errors);
    if (!in) return errors.to_response();
    return write_product(db, req, *in, 201, [&](connection& c) { return std::optional<product>(create(c, *in)); });
  });

  r.add("PUT", "/api/products/{id}", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("product");
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    field_errors errors;
    auto in = parse_product_input(*body, errors);
    if (!in) return errors.to_response();
    return write_product(db, req, *in, 200, [&](connection& c) { return update(c, *id, *in); });
  });

  r.add("DELETE", "/api/products/{id}", [&db](http::request& req) {
    auto id = parse_id(req.param("id"));
    if (!id) return not_found("product");
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    if (!remove(*conn, *id)) return not_found("product");
    commit_unless_dry_run(tx, req);
    http::response res;
    res.status = 204;
    return res;
  });
}

}  // namespace shop::catalog
