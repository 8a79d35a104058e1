#pragma once
// shipping-service's shipment: the same answer shape legacy-shop gives (GET /api/shipments/{id}),
// and the rules a booking follows. New code: a service links nothing of the monolith's.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shipping {

struct status_event {
  std::string status;
  std::string note;
  std::string at;
};

struct shipment {
  std::int64_t id = 0;  // the order's id: one shipment per order, numbered as it on both sides
  std::int64_t order_id = 0;
  std::int64_t customer_id = 0;
  std::string carrier;
  std::string address;
  std::string status;  // booked | picked_up | in_transit | delivered | returned | cancelled
  std::string tracking;
  std::vector<status_event> events;  // oldest first
  std::string created_at;
  std::string updated_at;
};

boost::json::object to_json(const shipment& s);
std::optional<shipment> from_json(const boost::json::object& o, std::string& why);

// Who carries `item_count` items to `address` ("street, town, country"): pickup without an address,
// parcelpost up to 5 items, freightline above; nullopt with `why` when no carrier serves the country.
std::optional<std::string> choose_carrier(std::string_view address, std::int64_t item_count, std::string& why);
// "BNY" + the id in 9 digits + a Luhn check digit.
std::string tracking_for(std::int64_t shipment_id);
bool valid_status(std::string_view status) noexcept;
// booked → picked_up → in_transit → delivered | returned; cancelled only before in_transit.
bool may_follow(std::string_view from, std::string_view to) noexcept;

}  // namespace shipping
