#include "shipment.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace shipping {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 16> served{"austria", "belgium", "croatia", "denmark", "finland", "france",
                                                  "germany", "ireland", "italy",   "japan",   "korea",   "netherlands",
                                                  "norway",  "portugal", "spain",  "sweden"};
constexpr std::array<std::string_view, 6> statuses{"booked", "picked_up", "in_transit", "delivered", "returned",
                                                   "cancelled"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

json::object to_json(const shipment& s) {
  json::array events;
  for (const auto& e : s.events) events.push_back(json::object{{"status", e.status}, {"note", e.note}, {"at", e.at}});
  return {{"id", s.id},
          {"order_id", s.order_id},
          {"customer_id", s.customer_id},
          {"carrier", s.carrier},
          {"address", s.address},
          {"status", s.status},
          {"tracking", s.tracking},
          {"events", std::move(events)},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

std::optional<shipment> from_json(const json::object& o, std::string& why) {
  auto text = [&](const char* key) -> std::optional<std::string> {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto number = [&](const char* key) -> std::optional<std::int64_t> {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_int64() || v->as_int64() <= 0) return std::nullopt;
    return v->as_int64();
  };
  const auto id = number("id"), order_id = number("order_id"), customer_id = number("customer_id");
  const auto carrier = text("carrier"), address = text("address"), status = text("status"), tracking = text("tracking"),
             created_at = text("created_at"), updated_at = text("updated_at");
  const auto* events = o.if_contains("events");
  if (!id || !order_id || !customer_id || !carrier || !address || !status || !tracking || !created_at || !updated_at ||
      !events || !events->is_array()) {
    why = "a shipment needs id, order_id, customer_id, carrier, address, status, tracking, events and its times";
    return std::nullopt;
  }
  if (!valid_status(*status)) {
    why = "unknown shipment status '" + *status + "'";
    return std::nullopt;
  }
  shipment s{*id, *order_id, *customer_id, *carrier, *address, *status, *tracking, {}, *created_at, *updated_at};
  for (const auto& e : events->as_array()) {
    const auto* eo = e.if_object();
    const auto* st = eo ? eo->if_contains("status") : nullptr;
    const auto* note = eo ? eo->if_contains("note") : nullptr;
    const auto* at = eo ? eo->if_contains("at") : nullptr;
    if (!st || !st->is_string() || !note || !note->is_string() || !at || !at->is_string()) {
      why = "a shipment's event needs status, note and at";
      return std::nullopt;
    }
    s.events.push_back({std::string(st->as_string()), std::string(note->as_string()), std::string(at->as_string())});
  }
  return s;
}

std::optional<std::string> choose_carrier(std::string_view address, std::int64_t item_count, std::string& why) {
  address = trim(address);
  if (address.empty()) return "pickup";
  const auto comma = address.rfind(',');
  const auto country = trim(comma == std::string_view::npos ? address : address.substr(comma + 1));
  std::string lower(country);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (std::find(served.begin(), served.end(), lower) == served.end()) {
    why = "no carrier serves " + std::string(country.empty() ? address : country);
    return std::nullopt;
  }
  return item_count <= 5 ? "parcelpost" : "freightline";
}

std::string tracking_for(std::int64_t shipment_id) {
  std::string digits = std::to_string(shipment_id);
  if (digits.size() < 9) digits.insert(0, 9 - digits.size(), '0');
  int sum = 0;
  bool twice = true;  // Luhn: from the right, every second digit doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, twice = !twice) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return "BNY" + digits + std::to_string((10 - sum % 10) % 10);
}

bool valid_status(std::string_view status) noexcept {
  return std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

bool may_follow(std::string_view from, std::string_view to) noexcept {
  if (from == "booked") return to == "picked_up" || to == "cancelled";
  if (from == "picked_up") return to == "in_transit" || to == "cancelled";
  if (from == "in_transit") return to == "delivered" || to == "returned";
  return false;
}

}  // namespace shipping
