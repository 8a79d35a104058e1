#include "catalog_sink.hpp"

#include "catalog_store.hpp"

#include "banyan/platform/clock.hpp"

namespace catalog {

using banyan::sync::apply_outcome;
using banyan::sync::sync_phase;

namespace {

// Puts the source's product in place. A SKU another product still holds here is only possible
// while the backfill's fuzzy copy is being caught up (see sync_phase): that product's own later
// event restores it, so it gives way. Once following, it is a divergence and the sync stops.
apply_outcome put_product(banyan::sqlite::connection& c, const boost::json::object& payload, std::string_view key,
                          sync_phase phase) {
  std::string why;
  auto p = product_from_payload(payload, why);
  if (!p) return apply_outcome::failed(why);
  if (std::to_string(p->id) != key) return apply_outcome::failed("payload id " + std::to_string(p->id) + " is not the key " + std::string(key));
  if (const auto holder = owner_of_sku(c, p->sku); holder && *holder != p->id) {
    if (phase == sync_phase::following)
      return apply_outcome::failed("sku " + p->sku + " is held by product " + std::to_string(*holder) +
                                   " here: the service's data diverged from the source");
    erase(c, *holder);
  }
  put(c, *p);
  return apply_outcome::applied();
}

}  // namespace

apply_outcome catalog_sink::apply_row(banyan::sqlite::connection& c, const banyan::sync::snapshot_row& row,
                                      sync_phase phase) {
  return put_product(c, row.payload, row.key, phase);
}

apply_outcome catalog_sink::apply_event(banyan::sqlite::connection& c, const banyan::sync::feed_event& e,
                                        sync_phase phase) {
  if (e.type == "product.created" || e.type == "product.updated") {
    if (!e.payload.is_object()) return apply_outcome::failed("payload is not an object");
    return put_product(c, e.payload.as_object(), e.key, phase);
  }
  if (e.type == "product.deleted") {
    const auto id = read_id(e.key);
    if (!id) return apply_outcome::failed("key '" + e.key + "' is not a product id");
    if (erase(c, *id)) note_sync_deletion(c, *id, banyan::unix_ms());  // already gone: deletes are idempotent
    return apply_outcome::applied();
  }
  return apply_outcome::ignored("unknown product event type '" + e.type + "'");
}

}  // namespace catalog
