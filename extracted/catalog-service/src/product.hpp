#pragma once
// A product as catalog-service's API speaks it: the same JSON shape, rules and error texts as
// legacy-shop's catalog (the contract shadow parity holds it to), written anew for the service.
#include "banyan/platform/http_message.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace catalog {

struct product {
  std::int64_t id = 0;
  std::string sku, name, description, category;
  std::int64_t price_cents = 0;
  std::string currency;
  std::string updated_at;
};

// What a client may set: everything but the id and the timestamp.
struct product_fields {
  std::string sku, name, description, category;
  std::int64_t price_cents = 0;
  std::string currency;
};

boost::json::object to_json(const product& p);

// A body's fields, or the 422 answer listing every problem (in the order the API documents).
banyan::expected<product_fields, banyan::http::response> read_product_fields(const boost::json::object& body);

// A product as the source's feed and snapshot carry it; nullopt with `why` when a field is missing
// or of the wrong type.
std::optional<product> product_from_payload(const boost::json::object& payload, std::string& why);

struct list_filter {
  std::string category;
  std::string q;
  std::int64_t page = 1;
  std::int64_t page_size = 20;
};
// From the query string; the 400 answer when paging is out of range.
banyan::expected<list_filter, banyan::http::response> read_list_filter(const banyan::http::request& req);

// Positive id from a path segment.
std::optional<std::int64_t> read_id(std::string_view text);

// The envelope every read carries (legacy-shop stamps it; the API keeps the shape).
void add_envelope(boost::json::object& body, const banyan::http::request& req);

banyan::http::response product_not_found();

}  // namespace catalog
