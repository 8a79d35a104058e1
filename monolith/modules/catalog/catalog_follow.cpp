#include "modules/catalog/catalog_follow.hpp"

#include "common/shop_http.hpp"
#include "modules/catalog/catalog.hpp"

namespace shop::catalog {

using banyan::sync::apply_outcome;

namespace {

// The service's product JSON (the same shape as this module's to_json) as a row; the input rules
// are this module's own, so nothing the API would refuse lands in the table.
std::optional<product> from_payload(const boost::json::object& o, std::string& why) {
  boost::json::object fields = o;  // the input rules know no id or timestamp: those are the row's
  fields.erase("id");
  fields.erase("updated_at");
  field_errors errors;
  const auto in = parse_product_input(fields, errors);
  if (!in) {
    why = "the product does not pass the catalog's rules: " +
          (errors.empty() ? std::string("invalid") : errors.field(0) + " " + errors.message(0));
    return std::nullopt;
  }
  const auto* id = o.if_contains("id");
  const auto* at = o.if_contains("updated_at");
  if (!id || !id->is_int64() || id->as_int64() <= 0 || !at || !at->is_string()) {
    why = "the product has no id or updated_at";
    return std::nullopt;
  }
  return product{id->as_int64(), in->sku, in->name, in->description, in->category, in->price_cents, in->currency,
                 std::string(at->as_string())};
}

}  // namespace

apply_outcome service_sink::apply_row(banyan::sqlite::connection&, const banyan::sync::snapshot_row&,
                                      banyan::sync::sync_phase) {
  return apply_outcome::failed("the monolith follows the service's feed without a snapshot");
}

apply_outcome service_sink::apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                        banyan::sync::sync_phase) {
  const auto id = parse_id(e.key);  // an event key is a product id, as a path parameter is
  if (!id) return apply_outcome::failed("key '" + e.key + "' is not a product id");
  if (e.type == "product.created" || e.type == "product.updated") {
    if (!e.payload.is_object()) return apply_outcome::failed("payload is not an object");
    std::string why;
    const auto p = from_payload(e.payload.as_object(), why);
    if (!p) return apply_outcome::failed(why);
    if (p->id != *id) return apply_outcome::failed("payload id " + std::to_string(p->id) + " is not the key " + e.key);
    if (const auto holder = find_by_sku(c, p->sku); holder && holder->id != p->id)
      return apply_outcome::failed("sku " + p->sku + " is held by product " + std::to_string(holder->id) +
                                   " here: the monolith's catalog diverged from the service's");
    put_as_is(c, *p);
    return apply_outcome::applied();
  }
  if (e.type == "product.deleted") {
    erase_as_is(c, *id);  // already gone is the same end state
    return apply_outcome::applied();
  }
  return apply_outcome::ignored("unknown product event type '" + e.type + "'");
}

}  // namespace shop::catalog
