#include "common/shop_http.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/sqlite.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <charconv>

namespace shop {

void commit_unless_dry_run(banyan::sqlite::transaction& tx, const banyan::http::request& req) {
  if (const auto* marker = req.header("X-Banyan-Shadow"); marker && *marker == "dry-run") return;
  tx.commit();
}

namespace json = boost::json;
using banyan::http::response;

response field_errors::to_response() const {
  json::array fields;
  for (const auto& i : items_) fields.push_back(json::object{{"field", i.field}, {"message", i.message}});
  std::string message = "validation failed";
  if (!items_.empty()) message += ": " + items_.front().field + " " + items_.front().message;
  return banyan::http::json_response(
      422, json::object{{"error", json::object{{"code", "validation_failed"}, {"message", message}, {"fields", fields}}}});
}

std::optional<std::string> require_string(const json::object& o, std::string_view key, field_errors& errors,
                                          std::size_t min_len, std::size_t max_len) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (min_len > 0) errors.add(std::string(key), "is required");
    return min_len > 0 ? std::nullopt : std::optional<std::string>(std::string());
  }
  if (!v->is_string()) {
    errors.add(std::string(key), "must be a string");
    return std::nullopt;
  }
  std::string s(v->as_string());
  if (s.size() < min_len || s.size() > max_len) {
    errors.add(std::string(key), "must be " + std::to_string(min_len) + " to " + std::to_string(max_len) +
                                     " characters long");
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> require_int(const json::object& o, std::string_view key, field_errors& errors,
                                        std::int64_t min, std::int64_t max, const std::string& path) {
  const std::string name = path.empty() ? std::string(key) : path;
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    errors.add(name, "is required");
    return std::nullopt;
  }
  std::int64_t n = 0;
  if (v->is_int64()) n = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) n = static_cast<std::int64_t>(v->as_uint64());
  else {
    errors.add(name, "must be an integer");
    return std::nullopt;
  }
  if (n < min || n > max) {
    errors.add(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

void reject_unknown(const json::object& o, std::initializer_list<std::string_view> known, field_errors& errors,
                    const std::string& prefix) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto k : known) ok = ok || kv.key() == k;
    if (!ok) errors.add(prefix + std::string(kv.key()), "is not a known field");
  }
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

void stamp(json::object& body, const banyan::http::request& req) {
  body["generated_at"] = banyan::now_rfc3339();
  body["request_id"] = req.request_id;
}

bool read_query_int(const banyan::http::request& req, std::string_view key, std::int64_t& out, std::int64_t min,
                    std::int64_t max) {
  const auto v = req.query_param(key);
  if (!v) return true;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  return ec == std::errc() && end == v->data() + v->size() && out >= min && out <= max;
}

response not_found(std::string_view what) {
  return banyan::http::error_response(404, "not_found", std::string(what) + " not found");
}

}  // namespace shop
