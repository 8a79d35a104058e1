#pragma once
// shipping-service's own tables (schema owner "shipping-service") and its feed. Shipments keep the
// monolith's ids (an order's id): one shipment per order on both sides, so bookings made on either
// side never collide.
#include "shipment.hpp"

#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed_outbox.hpp"

#include <optional>
#include <span>
#include <string>

namespace shipping {

std::span<const banyan::sqlite::migration> migrations();

// The service's own change feed (GET /internal/events): its bookings, failures and carrier reports,
// appended in their transactions. Shipments copied from the monolith's feed append nothing.
const banyan::sync::feed_outbox& outbox();

std::optional<shipment> find(banyan::sqlite::connection& c, std::int64_t id);
// A shipment exactly as the monolith has it (its history included): insert or replace.
void put_as_is(banyan::sqlite::connection& c, const shipment& s);

// An order the monolith placed, as its feed said (order.placed): remembered, so that the API can
// tell an order without a shipment from an order it never heard of, as the monolith does.
void remember_order(banyan::sqlite::connection& c, std::int64_t order_id);
bool knows_order(banyan::sqlite::connection& c, std::int64_t order_id);

// The saga's step here (docs/saga.md): books the order's shipment in one transaction with its event
// — shipment.booked, or shipment.failed {order_id, reason} when it cannot. Once per order: an order
// booked (or failed) before is left as it is. `fail_reason` set: the booking fails with it (faults).
enum class booking_outcome { booked, failed, already };
booking_outcome book(banyan::sqlite::connection& c, std::int64_t order_id, std::int64_t customer_id,
                     const std::string& address, std::int64_t item_count, const std::string& fail_reason = {});

// A carrier's report, or a cancellation: appends shipment.updated or shipment.cancelled. False
// (nothing written) when the status may not follow the current one.
bool report(banyan::sqlite::connection& c, shipment& s, const std::string& status, const std::string& note);

// Whether this service owns shipping's writes: the proxy's write cut-over lowers its fence when the
// writes come here, and raises it when they go back. Up (the monolith's) until the first cut-over.
struct fence {
  bool up = true;
  std::string owner = "monolith";
  std::int64_t since = 0;
  std::string at;
};
fence current_fence(banyan::sqlite::connection& c);
void set_fence(banyan::sqlite::connection& c, const fence& f);

}  // namespace shipping
