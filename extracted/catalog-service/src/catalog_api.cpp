#include "catalog_api.hpp"

#include "catalog_store.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/sync/range_checksum.hpp"

#include <boost/json/array.hpp>

namespace catalog {

namespace json = boost::json;
namespace http = banyan::http;
using banyan::sqlite::connection;

namespace {

bool dry_run(const http::request& req) {
  const auto* marker = req.header("X-Banyan-Shadow");
  return marker && *marker == "dry-run";
}

// A write in one transaction: committed unless the request is a dry run; a taken SKU is 409.
template <class Change>
http::response write(banyan::sqlite::pool& db, const http::request& req, const product_fields& fields, int status,
                     Change&& change) {
  const std::string_view sku = fields.sku;
  auto conn = db.acquire();
  banyan::sqlite::transaction tx(*conn);
  std::optional<product> p;
  try {
    p = change(*conn);
  } catch (const banyan::sqlite::error& e) {
    if (!e.is_constraint()) throw;
    // A dry run of a create can arrive after the monolith's real write reached this service by
    // the sync (the copy leaves once the client has its answer; the follower may poll first).
    // Then the outcome it asks about is already here: answer as the create would have.
    if (dry_run(req) && status == 201)
      if (const auto owner = owner_of_sku(*conn, sku))
        if (const auto held = find(*conn, *owner);
            held && held->name == fields.name && held->description == fields.description &&
            held->category == fields.category && held->price_cents == fields.price_cents && held->currency == fields.currency)
          return http::json_response(201, to_json(*held));
    return http::error_response(409, "sku_taken", "a product with sku " + std::string(sku) + " already exists");
  }
  if (!p) return product_not_found();
  const json::object body = to_json(*p);
  outbox().append(*conn, status == 201 ? "product.created" : "product.updated", "product", std::to_string(p->id), body);
  if (!dry_run(req)) tx.commit();  // a dry run rolls its event back with it
  return http::json_response(status, body);
}

}  // namespace

void register_api(http::router& r, banyan::sqlite::pool& db) {
  r.add("GET", "/api/products", [&db](http::request& req) {
    auto filter = read_list_filter(req);
    if (!filter) return filter.error();
    auto conn = db.acquire();
    const auto page = list(*conn, *filter);
    json::array items;
    for (const auto& p : page.items) items.push_back(to_json(p));
    json::object body{{"items", std::move(items)}, {"page", filter->page}, {"page_size", filter->page_size}, {"total", page.total}};
    add_envelope(body, req);
    return http::json_response(200, body);
  });

  // Checksums of the products by id range, for `banyan data verify` (banyan/sync/range_checksum.hpp):
  // each row as the listing shows it.
  r.add("GET", "/internal/checksum/products", [&db](http::request& req) {
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn, banyan::sqlite::transaction::mode::deferred);
    return banyan::sync::serve_range_checksum(req, "id", [&](const auto& q, int limit, const auto& each) {
      for (const auto& p : range(*conn, q.after.value_or(INT64_MIN), q.through.value_or(INT64_MAX), limit))
        each(p.id, to_json(p));
    });
  });

  r.add("GET", "/api/products/{id}", [&db](http::request& req) {
    const auto id = read_id(req.param("id"));
    if (!id) return product_not_found();
    auto conn = db.acquire();
    const auto p = find(*conn, *id);
    if (!p) return product_not_found();
    json::object body = to_json(*p);
    add_envelope(body, req);
    return http::json_response(200, body);
  });

  r.add("POST", "/api/products", [&db](http::request& req) {
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    auto fields = read_product_fields(*body);
    if (!fields) return fields.error();
    return write(db, req, *fields, 201, [&](connection& c) { return std::optional<product>(insert(c, *fields)); });
  });

  r.add("PUT", "/api/products/{id}", [&db](http::request& req) {
    const auto id = read_id(req.param("id"));
    if (!id) return product_not_found();
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    auto fields = read_product_fields(*body);
    if (!fields) return fields.error();
    return write(db, req, *fields, 200, [&](connection& c) { return replace(c, *id, *fields); });
  });

  r.add("DELETE", "/api/products/{id}", [&db](http::request& req) {
    const auto id = read_id(req.param("id"));
    if (!id) return product_not_found();
    auto conn = db.acquire();
    banyan::sqlite::transaction tx(*conn);
    const auto existing = find(*conn, *id);
    // A dry run can arrive after the monolith's real delete reached this service by the sync (the
    // copy leaves once the client has its answer; the follower, waiting at the feed, is there in
    // milliseconds): the outcome it asks about is already here, so answer as the delete did.
    if (!existing && dry_run(req) && deleted_by_sync_since(*conn, *id, banyan::unix_ms() - 60'000)) {
      http::response res;
      res.status = 204;
      return res;
    }
    if (!existing || !erase(*conn, *id)) return product_not_found();
    outbox().append(*conn, "product.deleted", "product", std::to_string(*id),
                    json::object{{"id", *id}, {"sku", existing->sku}});
    if (!dry_run(req)) tx.commit();
    http::response res;
    res.status = 204;
    return res;
  });
}

}  // namespace catalog
