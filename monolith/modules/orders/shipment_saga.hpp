#pragma once
// The order saga's initiator side, once shipping is a service of its own (docs/saga.md): an order
// placed while shipping's fence is up waits in a saga; the shipping service's feed answers it —
// shipment.booked confirms the order, shipment.failed cancels it and releases its stock (the
// compensation) — and the sweeper cancels the orders whose booking never answered. The shipments
// themselves land in shipping_* exactly as the service has them (reverse sync, no echo: not
// appended to this outbox), so a rollback finds every one.
#include "banyan/platform/http_message.hpp"
#include "banyan/sync/entity_sink.hpp"
#include "banyan/sync/saga_store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>

namespace shop::orders {

class shipment_answers final : public banyan::sync::entity_sink {
 public:
  std::string_view aggregate() const override { return "shipment"; }
  // The monolith has the shipments it booked: it follows the service's feed without a snapshot.
  banyan::sync::apply_outcome apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row,
                                        banyan::sync::sync_phase phase) override;
  banyan::sync::apply_outcome apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                          banyan::sync::sync_phase phase) override;
};

// Orders whose booking is overdue at `now_ms`: each cancelled (its stock released) in a transaction
// of its own. How many were cancelled.
int cancel_overdue(banyan::sqlite::connection& c, std::int64_t now_ms);

// GET /internal/sagas: {counts, sagas} — `stuck=1` for the stuck ones only (past the deadline, or
// running over `stuck_after_ms`, default 60 s), `status=` one status, `limit=` (1–1000, default 100).
struct saga_query {
  banyan::sync::saga::list_filter filter;
  std::string error;  // a query that cannot be read: 400 with this
};
saga_query read_saga_query(const banyan::http::request& req, std::int64_t now_ms);
boost::json::object sagas_json(banyan::sqlite::connection& c, const banyan::sync::saga::list_filter& f);

}  // namespace shop::orders
