#include "shipping_sinks.hpp"

#include "shipping_store.hpp"

#include "banyan/platform/log.hpp"

#include <charconv>
#include <thread>

namespace shipping {

using banyan::sync::apply_outcome;
using banyan::sync::sync_phase;

namespace {

std::optional<std::int64_t> read_id(std::string_view text) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

apply_outcome put_shipment(banyan::sqlite::connection& c, const boost::json::value& payload, std::string_view key) {
  if (!payload.is_object()) return apply_outcome::failed("payload is not an object");
  std::string why;
  const auto s = from_json(payload.as_object(), why);
  if (!s) return apply_outcome::failed(why);
  if (std::to_string(s->id) != key) return apply_outcome::failed("payload id " + std::to_string(s->id) + " is not the key " + std::string(key));
  put_as_is(c, *s);
  return apply_outcome::applied();
}

std::int64_t number(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

}  // namespace

apply_outcome shipment_copy::apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row, sync_phase) {
  return put_shipment(c, row.payload, row.key);
}

apply_outcome shipment_copy::apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e, sync_phase) {
  if (e.type == "shipment.booked" || e.type == "shipment.updated" || e.type == "shipment.cancelled")
    return put_shipment(c, e.payload, e.key);
  return apply_outcome::ignored("unknown shipment event type '" + e.type + "'");
}

apply_outcome order_requests::apply_row(banyan::sqlite::connection&, const banyan::sync::snapshot_row&, sync_phase) {
  return apply_outcome::failed("shipping-service follows the orders without a snapshot");
}

apply_outcome order_requests::apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e, sync_phase) {
  const auto id = read_id(e.key);
  if (!id) return apply_outcome::failed("key '" + e.key + "' is not an order id");
  if (!e.payload.is_object()) return apply_outcome::failed("payload is not an object");
  const auto& o = e.payload.as_object();
  const auto* status = o.if_contains("status");
  if (e.type == "order.placed") {
    remember_order(c, *id);
    // Booked by the monolith in the order's own transaction ("confirmed"), or refused there
    // ("cancelled"): nothing to do. "placed": the monolith asks this service (the saga's step).
    if (!status || !status->is_string() || status->as_string() != "placed")
      return apply_outcome::ignored("order " + e.key + " was settled by the monolith");
    const auto* ship_to = o.if_contains("ship_to");
    const std::string address = ship_to && ship_to->is_string() ? std::string(ship_to->as_string()) : std::string();
    if (faults_.delay.count() > 0) std::this_thread::sleep_for(faults_.delay);
    // Spread over the ids (not the first half of every hundred): failures and bookings interleave.
    const std::string fault = faults_.fail_percent > 0 && (*id * 7919) % 100 < faults_.fail_percent
                                  ? "the carrier refused the booking (fault injection)"
                                  : std::string();
    const auto outcome = book(c, *id, number(o, "customer_id"), address, number(o, "item_count"), fault);
    if (outcome == booking_outcome::failed)
      banyan::log::warn("booking failed: shipment.failed published", {{"order", *id}});
    return apply_outcome::applied();
  }
  if (e.type == "order.cancelled") {
    remember_order(c, *id);
    // The monolith cancels what it owns itself; once shipping's writes are here, so does this service.
    if (current_fence(c).up) return apply_outcome::ignored("shipping's writes are the monolith's: it cancels the shipment");
    auto s = find(c, *id);
    if (!s || s->status == "cancelled") return apply_outcome::applied();
    if (!report(c, *s, "cancelled", "the order was cancelled"))
      banyan::log::warn("an order was cancelled after its shipment left", {{"order", *id}, {"status", s->status}});
    return apply_outcome::applied();
  }
  return apply_outcome::ignored("order event '" + e.type + "' means nothing to shipping");
}

}  // namespace shipping
