#pragma once
// shipping-service's API: the answers legacy-shop gives for shipments (GET /api/shipments/{id},
// GET /api/orders/{id}/shipment) and carriers' reports (POST /api/shipments/{id}/events).
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"

namespace shipping {

void register_api(banyan::http::router& r, banyan::sqlite::pool& db);

}  // namespace shipping
