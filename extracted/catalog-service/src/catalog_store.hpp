#pragma once
// catalog-service's own tables (schema owner "catalog-service"). The extraction fixes the
// monolith's shape on the way: categories are rows of their own, referenced by id, and prices are
// checked in the schema. Ids are the monolith's, so a product has one id on both sides.
#include "product.hpp"

#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_outbox.hpp"

#include <optional>
#include <span>
#include <vector>

namespace catalog {

std::span<const banyan::sqlite::migration> migrations();

// The service's own change feed (GET /internal/events): every write through its API appends one
// event in the write's transaction; changes applied from the monolith's feed append none (they
// would echo back to it).
const banyan::sync::feed_outbox& outbox();

struct product_page {
  std::vector<product> items;
  std::int64_t total = 0;
};

std::optional<product> find(banyan::sqlite::connection& c, std::int64_t id);
product_page list(banyan::sqlite::connection& c, const list_filter& f);
// The products with ids in (after, through], in id order, at most `limit`.
std::vector<product> range(banyan::sqlite::connection& c, std::int64_t after, std::int64_t through, int limit);
// The product holding `sku`, if any.
std::optional<std::int64_t> owner_of_sku(banyan::sqlite::connection& c, std::string_view sku);

// Writes through the API. Throw sqlite::error with a constraint code when the SKU is taken.
product insert(banyan::sqlite::connection& c, const product_fields& f);
std::optional<product> replace(banyan::sqlite::connection& c, std::int64_t id, const product_fields& f);
bool erase(banyan::sqlite::connection& c, std::int64_t id);
// The monolith's feed deleted product `id` (kept ten minutes): a dry run of the same DELETE that
// arrives after the sync answers as the delete did (catalog_api.cpp).
void note_sync_deletion(banyan::sqlite::connection& c, std::int64_t id, std::int64_t now_ms);
bool deleted_by_sync_since(banyan::sqlite::connection& c, std::int64_t id, std::int64_t since_ms);

// A product exactly as the source has it (id and timestamp included): insert or replace.
void put(banyan::sqlite::connection& c, const product& p);

}  // namespace catalog
