#pragma once
// The shipping module: every order's shipment — its carrier, the address it goes to, its status as
// the carrier reports it, its tracking number. Owns the shipping_* tables. Placing an order books
// its shipment in the order's own transaction (orders calls book()); docs/saga.md tells how that
// one transaction becomes a saga once shipping is a service of its own.
#include "banyan/platform/router.hpp"
#include "banyan/platform/sqlite.hpp"
#include "common/shop_http.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shop::shipping {

struct status_event {
  std::string status;
  std::string note;
  std::string at;
};

struct shipment {
  std::int64_t id = 0;  // the order's id: one shipment per order, numbered as it
  std::int64_t order_id = 0;
  std::int64_t customer_id = 0;
  std::string carrier;
  std::string address;
  std::string status;  // booked | picked_up | in_transit | delivered | returned | cancelled
  std::string tracking;
  std::vector<status_event> events;  // oldest first; the first is the booking
  std::string created_at;
  std::string updated_at;
};

std::span<const banyan::sqlite::migration> migrations();

// Pure rules.
// Who carries an order of `item_count` items to `address`: "pickup" (collected at the shop) when
// there is no address, "parcelpost" up to 5 items, "freightline" above; nullopt with `why` when no
// carrier serves the address's country (the text after its last comma).
std::optional<std::string> choose_carrier(std::string_view address, std::int64_t item_count, std::string& why);
// "BNY" + the shipment id in 9 digits + a Luhn check digit: the same on every side that books.
std::string tracking_for(std::int64_t shipment_id);
// Whether a carrier may report `to` after `from`; the statuses are ordered booked → picked_up →
// in_transit → delivered | returned, and only a shipment not yet in transit may be cancelled.
bool valid_status(std::string_view status) noexcept;
bool may_follow(std::string_view from, std::string_view to) noexcept;
boost::json::object to_json(const shipment& s);
// The JSON to_json writes, read back (a shipment copied from another side's feed).
std::optional<shipment> from_json(const boost::json::object& o, std::string& why);

// In the caller's transaction.
struct booking {
  std::optional<shipment> booked;
  std::string failure;  // why it could not be booked (no carrier serves the address)
};
// Books the shipment of an order and appends shipment.booked; nothing written when it fails.
booking book(banyan::sqlite::connection& c, std::int64_t order_id, std::int64_t customer_id, std::string_view address,
             std::int64_t item_count);
std::optional<shipment> find(banyan::sqlite::connection& c, std::int64_t id);
// Moves a shipment to `status` (a carrier's report) and appends shipment.updated (or
// shipment.cancelled). False (nothing written) when the status may not follow the current one.
bool report(banyan::sqlite::connection& c, shipment& s, const std::string& status, const std::string& note);
// A shipment exactly as another side has it (reverse sync): its row and its history replaced.
void put_as_is(banyan::sqlite::connection& c, const shipment& s);

// Who owns shipping's writes when it is not this monolith: the fence the proxy's write cut-over
// raises here as those writes leave for the shipping service (PUT /internal/fence, as on
// banyan-sync) and lowers when they come back. While it is up, placing an order does not book the
// shipment: the service does, from the order.placed event (docs/saga.md).
struct fence {
  std::string owner;
  std::int64_t since = 0;  // the feed head the barrier read
  std::string at;
};
std::optional<fence> current_fence(banyan::sqlite::connection& c);

void register_routes(banyan::http::router& r, banyan::sqlite::pool& db);
// /internal/fence for the service named `service` (the proxy's name for it): another owner's fence
// is not kept here (404, which the barrier takes as "no fence").
void register_fence_routes(banyan::http::router& r, banyan::sqlite::pool& db, std::string service);

}  // namespace shop::shipping
