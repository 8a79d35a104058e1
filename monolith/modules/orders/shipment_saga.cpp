#include "modules/orders/shipment_saga.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"
#include "common/shop_http.hpp"
#include "modules/orders/orders.hpp"
#include "modules/shipping/shipping.hpp"

#include <boost/json/array.hpp>

#include <charconv>

namespace shop::orders {

namespace json = boost::json;
namespace saga = banyan::sync::saga;
using banyan::sync::apply_outcome;

namespace {

std::int64_t order_of(const std::string& saga_id) {
  std::int64_t id = 0;
  const std::string_view text = std::string_view(saga_id).substr(saga_id.find('-') + 1);
  std::from_chars(text.data(), text.data() + text.size(), id);
  return id;
}

// Runs what the saga decided, in the caller's transaction.
void carry_out(banyan::sqlite::connection& c, std::int64_t order_id, const saga::decision& d) {
  switch (d.what) {
    case saga::decision::action::complete: confirm(c, order_id); break;
    case saga::decision::action::compensate: cancel(c, order_id, d.reason); break;
    case saga::decision::action::late_answer:
      banyan::log::warn("order saga: a late answer", {{"order", order_id}, {"why", d.reason}});
      break;
    case saga::decision::action::none: break;
  }
}

}  // namespace

apply_outcome shipment_answers::apply_row(banyan::sqlite::connection&, const banyan::sync::snapshot_row&,
                                          banyan::sync::sync_phase) {
  return apply_outcome::failed("the monolith follows the shipping service's feed without a snapshot");
}

apply_outcome shipment_answers::apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                            banyan::sync::sync_phase) {
  const auto order_id = parse_id(e.key);  // a shipment is numbered as its order
  if (!order_id) return apply_outcome::failed("key '" + e.key + "' is not a shipment id");
  if (!e.payload.is_object()) return apply_outcome::failed("payload is not an object");
  // The answer's name: its feed's event, unique within the feed's history.
  const std::string event_id = "shipping#" + std::to_string(e.id) + "#" + e.type + "#" + e.key;
  if (e.type == "shipment.failed") {
    const auto* why = e.payload.as_object().if_contains("reason");
    const std::string reason = why && why->is_string() ? std::string(why->as_string()) : std::string("no reason given");
    carry_out(c, *order_id,
              saga::handle(c, saga_id(*order_id),
                           {saga::input::kind::failed, event_id, reason, banyan::unix_ms()}));
    return apply_outcome::applied();
  }
  if (e.type != "shipment.booked" && e.type != "shipment.updated" && e.type != "shipment.cancelled")
    return apply_outcome::ignored("unknown shipment event type '" + e.type + "'");
  std::string why;
  const auto s = shipping::from_json(e.payload.as_object(), why);
  if (!s) return apply_outcome::failed(why);
  if (s->id != *order_id) return apply_outcome::failed("payload id " + std::to_string(s->id) + " is not the key " + e.key);
  shipping::put_as_is(c, *s);
  if (e.type == "shipment.booked")
    carry_out(c, *order_id,
              saga::handle(c, saga_id(*order_id), {saga::input::kind::succeeded, event_id, {}, banyan::unix_ms()}));
  return apply_outcome::applied();
}

int cancel_overdue(banyan::sqlite::connection& c, std::int64_t now_ms) {
  int cancelled = 0;
  for (const auto& s : saga::due(c, now_ms, 100)) {
    banyan::sqlite::transaction tx(c);
    const auto d = saga::handle(c, s.id, {saga::input::kind::deadline, {}, {}, now_ms});
    carry_out(c, order_of(s.id), d);
    tx.commit();
    if (d.what == saga::decision::action::compensate) {
      ++cancelled;
      banyan::log::warn("order saga: no booking in time, the order is cancelled",
                        {{"order", order_of(s.id)}, {"why", d.reason}});
    }
  }
  return cancelled;
}

saga_query read_saga_query(const banyan::http::request& req, std::int64_t now_ms) {
  saga_query q;
  q.filter.now_ms = now_ms;
  if (const auto stuck = req.query_param("stuck")) {
    if (*stuck != "1" && *stuck != "0" && *stuck != "true" && *stuck != "false")
      q.error = "stuck must be 1 or 0";
    q.filter.stuck = *stuck == "1" || *stuck == "true";
  }
  if (const auto st = req.query_param("status")) {
    saga::status s{};
    if (!saga::parse_status(*st, s)) q.error = "status must be running, completed or compensated";
    else q.filter.only = s;
  }
  if (const auto after = req.query_param("stuck_after_ms")) {
    std::int64_t ms = 0;
    const auto [p, ec] = std::from_chars(after->data(), after->data() + after->size(), ms);
    if (ec != std::errc() || p != after->data() + after->size() || ms < 1) q.error = "stuck_after_ms must be a positive integer";
    else q.filter.stuck_after_ms = ms;
  }
  if (const auto limit = req.query_param("limit")) {
    int n = 0;
    const auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || p != limit->data() + limit->size() || n < 1 || n > 1000)
      q.error = "limit must be an integer from 1 to 1000";
    else q.filter.limit = n;
  }
  return q;
}

json::object sagas_json(banyan::sqlite::connection& c, const saga::list_filter& f) {
  const auto n = saga::count(c, f.now_ms, f.stuck_after_ms);
  json::array items;
  for (const auto& s : saga::list(c, f)) items.push_back(saga::to_json(s, f.now_ms));
  return {{"counts", json::object{{"running", n.running}, {"completed", n.completed}, {"compensated", n.compensated},
                                  {"stuck", n.stuck}}},
          {"stuck_after_ms", f.stuck_after_ms},
          {"sagas", std::move(items)}};
}

}  // namespace shop::orders
