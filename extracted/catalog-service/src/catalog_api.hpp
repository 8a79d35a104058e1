#pragma once
// The catalog's public API, as legacy-shop serves it: GET /api/products (category, q, paging),
// GET/POST/PUT/DELETE /api/products/{id}; the same JSON, statuses and error bodies. Writes marked
// X-Banyan-Shadow: dry-run are validated and answered, and commit nothing.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"

namespace catalog {

void register_api(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace catalog
