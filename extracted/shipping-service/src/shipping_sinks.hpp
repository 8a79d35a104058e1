#pragma once
// What shipping-service takes from the monolith's feed (docs/saga.md): the shipments the monolith
// books, copied as it has them (a backfill, then their events), and the orders — the saga's
// requests: an order placed but not booked (status "placed") is booked here, once; an order
// cancelled while this service owns shipping's writes has its shipment cancelled here.
#include "banyan/sync/entity_sink.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace shipping {

class shipment_copy final : public banyan::sync::entity_sink {
 public:
  std::string_view aggregate() const override { return "shipment"; }
  banyan::sync::apply_outcome apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row,
                                        banyan::sync::sync_phase phase) override;
  banyan::sync::apply_outcome apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                          banyan::sync::sync_phase phase) override;
};

// Deliberate misbehaviour of bookings, for demos and tests (--fault).
struct booking_faults {
  int fail_percent = 0;                // fail-bookings:PERCENT — that share of orders fail (chosen by id)
  std::chrono::milliseconds delay{0};  // slow-bookings:DURATION — each booking waits first
};

class order_requests final : public banyan::sync::entity_sink {
 public:
  explicit order_requests(booking_faults faults = {}) : faults_(faults) {}
  std::string_view aggregate() const override { return "order"; }
  // Orders are not copied: only their events after this service started following matter.
  banyan::sync::apply_outcome apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row,
                                        banyan::sync::sync_phase phase) override;
  banyan::sync::apply_outcome apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                          banyan::sync::sync_phase phase) override;

 private:
  booking_faults faults_;
};

}  // namespace shipping
