#include "product.hpp"

#include "banyan/platform/clock.hpp"

#include <boost/json/array.hpp>

#include <charconv>
#include <functional>

namespace catalog {

namespace json = boost::json;
namespace http = banyan::http;

json::object to_json(const product& p) {
  return {{"id", p.id},
          {"sku", p.sku},
          {"name", p.name},
          {"description", p.description},
          {"category", p.category},
          {"price_cents", p.price_cents},
          {"currency", p.currency},
          {"updated_at", p.updated_at}};
}

namespace {

struct problem {
  std::string field, message;
};

bool upper_alnum_dash(std::string_view s) {
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool upper_letters(std::string_view s) {
  for (char c : s)
    if (c < 'A' || c > 'Z') return false;
  return true;
}

// One text field: required when min > 0, a string of min..max characters, then an extra rule.
struct text_rule {
  std::string_view name;
  std::size_t min, max;
  std::function<bool(std::string_view)> extra;
  std::string_view extra_message;
};

std::optional<std::string> read_text(const json::object& o, const text_rule& rule, std::vector<problem>& problems) {
  const json::value* v = o.if_contains(rule.name);
  if (!v || v->is_null()) {
    if (rule.min == 0) return std::string();
    problems.push_back({std::string(rule.name), "is required"});
    return std::nullopt;
  }
  if (!v->is_string()) {
    problems.push_back({std::string(rule.name), "must be a string"});
    return std::nullopt;
  }
  const std::string_view s = v->as_string();
  if (s.size() < rule.min || s.size() > rule.max) {
    problems.push_back({std::string(rule.name),
                        "must be " + std::to_string(rule.min) + " to " + std::to_string(rule.max) + " characters long"});
    return std::nullopt;
  }
  if (rule.extra && !rule.extra(s)) {
    problems.push_back({std::string(rule.name), std::string(rule.extra_message)});
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<std::int64_t> read_whole(const json::object& o, std::string_view name, std::int64_t min, std::int64_t max,
                                       std::vector<problem>& problems) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) {
    problems.push_back({std::string(name), "is required"});
    return std::nullopt;
  }
  std::int64_t n;
  if (v->is_int64()) n = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) n = static_cast<std::int64_t>(v->as_uint64());
  else {
    problems.push_back({std::string(name), "must be an integer"});
    return std::nullopt;
  }
  if (n < min || n > max) {
    problems.push_back({std::string(name), "must be between " + std::to_string(min) + " and " + std::to_string(max)});
    return std::nullopt;
  }
  return n;
}

http::response validation_failed(const std::vector<problem>& problems) {
  json::array fields;
  for (const auto& p : problems) fields.push_back(json::object{{"field", p.field}, {"message", p.message}});
  const std::string message = "validation failed: " + problems.front().field + " " + problems.front().message;
  return http::json_response(
      422, json::object{{"error", json::object{{"code", "validation_failed"}, {"message", message}, {"fields", std::move(fields)}}}});
}

}  // namespace

banyan::expected<product_fields, http::response> read_product_fields(const json::object& body) {
  static constexpr std::string_view known[] = {"sku", "name", "description", "category", "price_cents", "currency"};
  std::vector<problem> problems;
  for (const auto& member : body) {
    bool ok = false;
    for (auto k : known) ok = ok || member.key() == k;
    if (!ok) problems.push_back({std::string(member.key()), "is not a known field"});
  }
  const text_rule sku{"sku", 3, 32, upper_alnum_dash, "must be upper-case letters, digits and '-'"};
  const text_rule name{"name", 1, 200, {}, {}};
  const text_rule description{"description", 0, 4000, {}, {}};
  const text_rule category{"category", 1, 64, {}, {}};
  const text_rule currency{"currency", 3, 3, upper_letters, "must be an ISO 4217 code such as EUR"};
  product_fields f;
  auto s = read_text(body, sku, problems);
  auto n = read_text(body, name, problems);
  auto d = read_text(body, description, problems);
  auto c = read_text(body, category, problems);
  auto p = read_whole(body, "price_cents", 0, 100'000'000, problems);
  auto cur = read_text(body, currency, problems);
  if (!problems.empty()) return banyan::unexpected(validation_failed(problems));
  return product_fields{*s, *n, *d, *c, *p, *cur};
}

std::optional<product> product_from_payload(const json::object& o, std::string& why) {
  product p;
  auto text = [&](std::string_view k, std::string& out) {
    const auto* v = o.if_contains(k);
    if (v && v->is_string()) {
      out = std::string(v->as_string());
      return true;
    }
    why = "payload has no string \"" + std::string(k) + "\"";
    return false;
  };
  auto whole = [&](std::string_view k, std::int64_t& out) {
    const auto* v = o.if_contains(k);
    if (v && v->is_int64()) {
      out = v->as_int64();
      return true;
    }
    why = "payload has no integer \"" + std::string(k) + "\"";
    return false;
  };
  if (!whole("id", p.id) || !text("sku", p.sku) || !text("name", p.name) || !text("description", p.description) ||
      !text("category", p.category) || !whole("price_cents", p.price_cents) || !text("currency", p.currency) ||
      !text("updated_at", p.updated_at))
    return std::nullopt;
  return p;
}

banyan::expected<list_filter, http::response> read_list_filter(const http::request& req) {
  list_filter f;
  auto number = [&](std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) -> std::optional<http::response> {
    const auto v = req.query_param(key);
    if (!v) return std::nullopt;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec == std::errc() && end == v->data() + v->size() && out >= min && out <= max) return std::nullopt;
    return http::error_response(400, "invalid_query",
                                std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  };
  if (auto bad = number("page", f.page, 1, 1'000'000)) return banyan::unexpected(std::move(*bad));
  if (auto bad = number("page_size", f.page_size, 1, 100)) return banyan::unexpected(std::move(*bad));
  if (auto c = req.query_param("category")) f.category = *c;
  if (auto q = req.query_param("q")) f.q = *q;
  return f;
}

std::optional<std::int64_t> read_id(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

void add_envelope(json::object& body, const http::request& req) {
  body["generated_at"] = banyan::now_rfc3339();
  body["request_id"] = req.request_id;
}

http::response product_not_found() { return http::error_response(404, "not_found", "product not found"); }

}  // namespace catalog
