#include "faults.hpp"

#include "banyan/platform/units.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <thread>

namespace catalog {

namespace json = boost::json;

bool parse_fault(std::string_view text, faults& out, std::string& why) {
  const auto colon = text.find(':');
  const auto kind = text.substr(0, colon);
  const auto arg = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (kind == "round-prices" && !arg.empty()) {
    out.round_prices_category = std::string(arg);
    return true;
  }
  if (kind == "slow" && banyan::parse_duration(std::string(arg), out.delay) && out.delay.count() > 0) return true;
  why = "expected round-prices:CATEGORY or slow:DURATION (e.g. slow:2s), got '" + std::string(text) + "'";
  return false;
}

namespace {
void round_price(json::object& product, const std::string& category) {
  const auto* c = product.if_contains("category");
  auto* p = product.if_contains("price_cents");
  if (!c || !c->is_string() || c->as_string() != category || !p || !p->is_int64()) return;
  // The bug a currency conversion might have: half up to whole units.
  *p = (p->as_int64() + 50) / 100 * 100;
}
}  // namespace

void apply_faults(const faults& f, const banyan::http::request& req, banyan::http::response& res) {
  if (!req.path.starts_with("/api/")) return;
  if (f.delay.count() > 0) std::this_thread::sleep_for(f.delay);
  if (f.round_prices_category.empty() || req.method != "GET" || res.status != 200) return;
  boost::system::error_code ec;
  auto doc = json::parse(res.body, ec);
  if (ec || !doc.is_object()) return;
  auto& o = doc.as_object();
  if (auto* items = o.if_contains("items"); items && items->is_array()) {
    for (auto& item : items->as_array())
      if (item.is_object()) round_price(item.as_object(), f.round_prices_category);
  } else {
    round_price(o, f.round_prices_category);
  }
  res.body = json::serialize(doc);
}

}  // namespace catalog
