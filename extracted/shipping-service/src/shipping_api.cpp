#include "shipping_api.hpp"

#include "shipping_store.hpp"

#include "banyan/sync/range_checksum.hpp"

#include <charconv>

namespace shipping {

namespace json = boost::json;
namespace http = banyan::http;

namespace {

std::optional<std::int64_t> read_id(std::string_view text) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

http::response not_found(std::string_view what) {
  return http::error_response(404, "not_found", std::string(what) + " not found");
}

bool dry_run(const http::request& req) {
  const auto* marker = req.header("X-Banyan-Shadow");
  return marker && *marker == "dry-run";
}

// legacy-shop's 422 shape: {"error": {"code": "validation_failed", "message", "fields": [{field, message}]}}.
http::response invalid(const std::string& field, const std::string& message) {
  return http::json_response(
      422, json::object{{"error", json::object{{"code", "validation_failed"},
                                               {"message", "validation failed: " + field + " " + message},
                                               {"fields", json::array{json::object{{"field", field}, {"message", message}}}}}}});
}

}  // namespace

void register_api(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/api/shipments/{id}", [&db](http::request& req) {
    const auto id = read_id(req.param("id"));
    if (!id) return not_found("shipment");
    auto conn = db.acquire();
    const auto s = find(*conn, *id);
    if (!s) return not_found("shipment");
    return http::json_response(200, to_json(*s));
  });

  // Every shipment, in id order, a page at a time (the monolith's listing).
  r.add("GET", "/api/shipments", [&db](http::request& req) {
    std::int64_t page = 1, page_size = 50;
    auto read = [&](std::string_view key, std::int64_t& out, std::int64_t max) {
      auto v = req.query_param(key);
      if (!v) return true;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
      return ec == std::errc() && end == v->data() + v->size() && out >= 1 && out <= max;
    };
    if (!read("page", page, 1'000'000) || !read("page_size", page_size, 1000))
      return http::error_response(400, "invalid_query", "page must be 1 or more and page_size 1 to 1000");
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    auto count = conn->prepare("SELECT COUNT(*) FROM shipments");
    count.step();
    auto ids = conn->prepare("SELECT id FROM shipments ORDER BY id LIMIT ? OFFSET ?");
    ids.bind_all(page_size, (page - 1) * page_size);
    json::array items;
    while (ids.step()) items.push_back(to_json(*find(*conn, ids.get_int64(0))));
    json::object body{{"items", std::move(items)}, {"page", page}, {"page_size", page_size}, {"total", count.get_int64(0)}};
    tx.commit();
    return http::json_response(200, body);
  });

  // Checksums of the shipments by id range, for `banyan data verify` (banyan/sync/range_checksum.hpp):
  // each row as the listing shows it.
  r.add("GET", "/internal/checksum/shipments", [&db](http::request& req) {
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    return banyan::sync::serve_range_checksum(req, "id", [&](const auto& q, int limit, const auto& each) {
      auto ids = conn->prepare_cached("SELECT id FROM shipments WHERE id > ? AND id <= ? ORDER BY id LIMIT ?");
      ids->bind_all(q.after.value_or(INT64_MIN), q.through.value_or(INT64_MAX), limit);
      while (ids->step()) {
        const auto id = ids->get_int64(0);
        each(id, to_json(*find(*conn, id)));
      }
    });
  });

  r.add("GET", "/api/orders/{id}/shipment", [&db](http::request& req) {
    const auto id = read_id(req.param("id"));
    if (!id) return not_found("order");
    auto conn = db.acquire();
    if (const auto s = find(*conn, *id)) return http::json_response(200, to_json(*s));
    if (!knows_order(*conn, *id)) return not_found("order");
    return http::error_response(404, "no_shipment",
                                "order " + std::to_string(*id) + " has no shipment (not booked, or cancelled before)");
  });

  r.add("POST", "/api/shipments/{id}/events", [&db](http::request& req) {
    const auto id = read_id(req.param("id"));
    if (!id) return not_found("shipment");
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    for (const auto& [key, value] : *body)
      if (key != "status" && key != "note") return invalid(std::string(key), "is not a known field");
    const auto* status = body->if_contains("status");
    if (!status || !status->is_string() || status->as_string().empty())
      return invalid("status", status ? "must be a string" : "is required");
    if (!valid_status(status->as_string()))
      return invalid("status", "must be one of booked, picked_up, in_transit, delivered, returned, cancelled");
    std::string note;
    if (const auto* n = body->if_contains("note")) {
      if (!n->is_string() || n->as_string().size() > 500) return invalid("note", "must be a string of at most 500 characters");
      note = std::string(n->as_string());
    }
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    auto s = find(*conn, *id);
    if (!s) return not_found("shipment");
    const std::string from = s->status, to(status->as_string());
    // A dry run can arrive after the monolith's real report reached this service by the sync (the
    // copy leaves once the client has its answer): then the report it asks about is already here —
    // answer as it would have (the demo's carriers found this: 5 % of the dry runs, 409 against 200).
    if (dry_run(req) && s->status == to && !s->events.empty() && s->events.back().status == to &&
        s->events.back().note == note)
      return http::json_response(200, to_json(*s));
    if (!report(*conn, *s, to, note))
      return http::error_response(409, "invalid_status_change", "a shipment that is " + from + " cannot become " + to);
    if (!dry_run(req)) tx.commit();
    return http::json_response(200, to_json(*s));
  });
}

}  // namespace shipping
