#include "catalog_store.hpp"

#include "banyan/platform/clock.hpp"

#include <array>

namespace catalog {

using banyan::sqlite::connection;

const banyan::sync::feed_outbox& outbox() {
  static const banyan::sync::feed_outbox box("catalog_outbox");
  return box;
}

std::span<const banyan::sqlite::migration> migrations() {
  static const std::array<banyan::sqlite::migration, 4> list{{
      {1, "create categories and products",
       "CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
       "CREATE TABLE products ("
       " id INTEGER PRIMARY KEY,"
       " sku TEXT NOT NULL UNIQUE,"
       " name TEXT NOT NULL, description TEXT NOT NULL,"
       " category_id INTEGER NOT NULL REFERENCES categories(id),"
       " price_cents INTEGER NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),"
       " currency TEXT NOT NULL CHECK (length(currency) = 3),"
       " updated_at TEXT NOT NULL);"
       "CREATE INDEX products_by_category ON products(category_id, id);"},
      {2, "create catalog_outbox (the service's own feed)", outbox().schema_sql()},
      // Ids are never reused after a delete, on either side of a migration: the monolith may have
      // seen the deleted one through the reverse sync (docs/data-sync.md, "Moving writes").
      {3, "product ids never reused (AUTOINCREMENT)",
       "CREATE TABLE products_v3 ("
       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
       " sku TEXT NOT NULL UNIQUE,"
       " name TEXT NOT NULL, description TEXT NOT NULL,"
       " category_id INTEGER NOT NULL REFERENCES categories(id),"
       " price_cents INTEGER NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),"
       " currency TEXT NOT NULL CHECK (length(currency) = 3),"
       " updated_at TEXT NOT NULL);"
       "INSERT INTO products_v3 SELECT id, sku, name, description, category_id, price_cents, currency, updated_at"
       " FROM products;"
       "DROP TABLE products;"
       "ALTER TABLE products_v3 RENAME TO products;"
       "CREATE INDEX products_by_category ON products(category_id, id);"},
      {4, "products the monolith's feed deleted, and when (a dry run's answer)",
       "CREATE TABLE catalog_sync_deletions (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL);"},
  }};
  return list;
}

namespace {

constexpr std::string_view select_products =
    "SELECT p.id, p.sku, p.name, p.description, c.name, p.price_cents, p.currency, p.updated_at"
    " FROM products p JOIN categories c ON c.id = p.category_id";

product row_to_product(const banyan::sqlite::statement& st) {
  return {st.get_int64(0), st.get_text(1), st.get_text(2),  st.get_text(3),
          st.get_text(4),  st.get_int64(5), st.get_text(6), st.get_text(7)};
}

std::int64_t category_id(connection& c, std::string_view name) {
  // Read first: categories are few and nearly always there (an insert attempt per product row was
  // a write statement more on every row of a backfill).
  {
    auto st = c.prepare_cached("SELECT id FROM categories WHERE name = ?");
    st->bind(1, name);
    if (st->step()) return st->get_int64(0);
  }
  c.prepare_cached("INSERT INTO categories(name) VALUES (?)")->bind(1, name).run();
  return c.last_insert_rowid();
}

// The user's text taken literally inside LIKE.
std::string contains_pattern(std::string_view text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '%';
  return out;
}

}  // namespace

std::optional<product> find(connection& c, std::int64_t id) {
  auto st = c.prepare_cached(std::string(select_products) + " WHERE p.id = ?");
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return row_to_product(*st);
}

product_page list(connection& c, const list_filter& f) {
  // Same semantics as the monolith's listing: exact category, q in name or description (SQLite's
  // LIKE: ASCII case-insensitive), id order, offset paging.
  const std::string where =
      " WHERE (?1 = '' OR c.name = ?1)"
      " AND (?2 = '' OR p.name LIKE ?3 ESCAPE '\\' OR p.description LIKE ?3 ESCAPE '\\')";
  product_page page;
  auto count = c.prepare("SELECT COUNT(*) FROM products p JOIN categories c ON c.id = p.category_id" + where);
  count.bind_all(f.category, f.q, contains_pattern(f.q));
  count.step();
  page.total = count.get_int64(0);
  auto st = c.prepare(std::string(select_products) + where + " ORDER BY p.id LIMIT ?4 OFFSET ?5");
  st.bind_all(f.category, f.q, contains_pattern(f.q), f.page_size, (f.page - 1) * f.page_size);
  while (st.step()) page.items.push_back(row_to_product(st));
  return page;
}

std::vector<product> range(connection& c, std::int64_t after, std::int64_t through, int limit) {
  auto st = c.prepare_cached(std::string(select_products) + " WHERE p.id > ? AND p.id <= ? ORDER BY p.id LIMIT ?");
  st->bind_all(after, through, limit);
  std::vector<product> out;
  while (st->step()) out.push_back(row_to_product(*st));
  return out;
}

std::optional<std::int64_t> owner_of_sku(connection& c, std::string_view sku) {
  auto st = c.prepare_cached("SELECT id FROM products WHERE sku = ?");
  st->bind(1, sku);
  if (!st->step()) return std::nullopt;
  return st->get_int64(0);
}

product insert(connection& c, const product_fields& f) {
  product p{0, f.sku, f.name, f.description, f.category, f.price_cents, f.currency, banyan::now_rfc3339()};
  c.prepare("INSERT INTO products(sku, name, description, category_id, price_cents, currency, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(p.sku, p.name, p.description, category_id(c, p.category), p.price_cents, p.currency, p.updated_at)
      .run();
  p.id = c.last_insert_rowid();
  return p;
}

std::optional<product> replace(connection& c, std::int64_t id, const product_fields& f) {
  product p{id, f.sku, f.name, f.description, f.category, f.price_cents, f.currency, banyan::now_rfc3339()};
  c.prepare("UPDATE products SET sku = ?, name = ?, description = ?, category_id = ?, price_cents = ?, currency = ?,"
            " updated_at = ? WHERE id = ?")
      .bind_all(p.sku, p.name, p.description, category_id(c, p.category), p.price_cents, p.currency, p.updated_at, id)
      .run();
  if (c.changes() == 0) return std::nullopt;
  return p;
}

void note_sync_deletion(connection& c, std::int64_t id, std::int64_t now_ms) {
  c.prepare_cached("DELETE FROM catalog_sync_deletions WHERE at_ms < ?")->bind(1, now_ms - 600'000).run();
  c.prepare_cached("INSERT OR REPLACE INTO catalog_sync_deletions(id, at_ms) VALUES (?, ?)")->bind_all(id, now_ms).run();
}

bool deleted_by_sync_since(connection& c, std::int64_t id, std::int64_t since_ms) {
  auto st = c.prepare_cached("SELECT 1 FROM catalog_sync_deletions WHERE id = ? AND at_ms >= ?");
  st->bind_all(id, since_ms);
  return st->step();
}

bool erase(connection& c, std::int64_t id) {
  c.prepare_cached("DELETE FROM products WHERE id = ?")->bind(1, id).run();
  return c.changes() > 0;
}

void put(connection& c, const product& p) {
  const auto category = category_id(c, p.category);
  c.prepare_cached("INSERT INTO products(id, sku, name, description, category_id, price_cents, currency, updated_at)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            " ON CONFLICT(id) DO UPDATE SET sku = ?2, name = ?3, description = ?4, category_id = ?5,"
            " price_cents = ?6, currency = ?7, updated_at = ?8")
      ->bind_all(p.id, p.sku, p.name, p.description, category, p.price_cents, p.currency, p.updated_at)
      .run();
}

}  // namespace catalog
