#include "banyan/sync/data_map.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace banyan::sync {

namespace json = boost::json;

std::string_view to_string(field_type t) noexcept {
  switch (t) {
    case field_type::automatic: return "automatic";
    case field_type::integer: return "integer";
    case field_type::real: return "real";
    case field_type::text: return "text";
    case field_type::boolean: return "bool";
    case field_type::json: return "json";
    case field_type::timestamp: return "timestamp";
  }
  return "automatic";
}

std::optional<field_type> parse_field_type(std::string_view t) noexcept {
  if (t == "integer") return field_type::integer;
  if (t == "real") return field_type::real;
  if (t == "text") return field_type::text;
  if (t == "bool") return field_type::boolean;
  if (t == "json") return field_type::json;
  if (t == "timestamp") return field_type::timestamp;
  return std::nullopt;
}

const field_map* aggregate_map::by_column(std::string_view c) const noexcept {
  for (const auto& f : fields)
    if (f.column == c) return &f;
  return nullptr;
}

const field_map* aggregate_map::by_field(std::string_view field_name) const noexcept {
  for (const auto& f : fields)
    if (f.field == field_name) return &f;
  return nullptr;
}

const aggregate_map* data_map::find(std::string_view aggregate) const noexcept {
  for (const auto& a : aggregates)
    if (a.name == aggregate) return &a;
  return nullptr;
}

const aggregate_map* data_map::by_table(std::string_view table) const noexcept {
  for (const auto& a : aggregates)
    if (a.table == table) return &a;
  return nullptr;
}

namespace {

// A stored value as its field's type reads it. Capture never refuses a row: a value the type does
// not describe (text in an INTEGER column, which SQLite allows) is published as stored, and the
// applier, which is strict, stops on it and says which.
json::value read_as(field_type t, const json::value& v) {
  if (v.is_null()) return nullptr;
  switch (t) {
    case field_type::boolean:
      if (v.is_int64()) return v.as_int64() != 0;
      if (v.is_double()) return v.as_double() != 0;
      return v;
    case field_type::json:
      if (v.is_string()) {
        boost::system::error_code ec;
        auto parsed = json::parse(v.as_string(), ec);
        if (!ec) return parsed;
      }
      return v;
    case field_type::integer:
      if (v.is_double() && std::trunc(v.as_double()) == v.as_double() && std::abs(v.as_double()) < 9.0e15)
        return static_cast<std::int64_t>(v.as_double());
      return v;
    case field_type::real:
      if (v.is_int64()) return static_cast<double>(v.as_int64());
      return v;
    case field_type::automatic:
    case field_type::text:
    case field_type::timestamp:
      return v;
  }
  return v;
}

std::string describe(const json::value& v) {
  auto s = json::serialize(v);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

bool integral_text(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::vector<std::string> image_columns(const aggregate_map& a) {
  std::vector<std::string> cols = a.key;
  for (const auto& f : a.fields)
    if (std::find(cols.begin(), cols.end(), f.column) == cols.end()) cols.push_back(f.column);
  return cols;
}

expected<json::object, std::string> payload_of_row(const aggregate_map& a, const json::object& row) {
  json::object payload;
  for (const auto& f : a.fields) {
    const auto* v = row.if_contains(f.column);
    if (!v) return unexpected("the row of " + a.table + " has no column " + f.column);
    payload[f.field] = read_as(f.type, *v);
  }
  return payload;
}

expected<std::string, std::string> key_of_row(const aggregate_map& a, const json::object& row) {
  json::array parts;
  for (const auto& k : a.key) {
    const auto* v = row.if_contains(k);
    if (!v || v->is_null()) return unexpected("the row of " + a.table + " has no value in key column " + k);
    parts.push_back(*v);
  }
  if (parts.size() != 1) return json::serialize(parts);
  const auto& v = parts.front();
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

expected<column_value, std::string> column_of_payload(const field_map& f, const json::value& v) {
  if (v.is_null()) return column_value::of_null();
  auto refuse = [&](std::string_view what) -> expected<column_value, std::string> {
    return unexpected(f.field + ": " + describe(v) + " is not " + std::string(what));
  };
  switch (f.type) {
    case field_type::integer: {
      if (v.is_int64()) return column_value::of(v.as_int64());
      if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return column_value::of(static_cast<std::int64_t>(v.as_uint64()));
      if (v.is_double() && std::trunc(v.as_double()) == v.as_double() && std::abs(v.as_double()) < 9.0e15)
        return column_value::of(static_cast<std::int64_t>(v.as_double()));
      std::int64_t n = 0;
      if (v.is_string() && integral_text(v.as_string(), n)) return column_value::of(n);
      if (v.is_bool()) return column_value::of(std::int64_t{v.as_bool() ? 1 : 0});
      return refuse("an integer");
    }
    case field_type::real:
      if (v.is_number()) return column_value::of(v.to_number<double>());
      return refuse("a number");
    case field_type::boolean:
      if (v.is_bool()) return column_value::of(std::int64_t{v.as_bool() ? 1 : 0});
      if (v.is_int64() && (v.as_int64() == 0 || v.as_int64() == 1)) return column_value::of(v.as_int64());
      return refuse("a boolean");
    case field_type::json:
      return column_value::of(json::serialize(v));
    case field_type::text:
    case field_type::timestamp:
      if (v.is_string()) return column_value::of(std::string(v.as_string()));
      if (v.is_number() || v.is_bool()) return column_value::of(json::serialize(v));
      return refuse(f.type == field_type::text ? "text" : "a timestamp");
    case field_type::automatic:
      if (v.is_string()) return column_value::of(std::string(v.as_string()));
      if (v.is_int64()) return column_value::of(v.as_int64());
      if (v.is_double() || v.is_uint64()) return column_value::of(v.to_number<double>());
      if (v.is_bool()) return column_value::of(std::int64_t{v.as_bool() ? 1 : 0});
      return column_value::of(json::serialize(v));
  }
  return refuse("storable");
}

expected<std::vector<column_value>, std::string> key_columns(const aggregate_map& a, std::string_view key) {
  std::vector<column_value> out;
  if (a.key.size() == 1) {
    const auto* f = a.by_column(a.key.front());
    if (!f) return unexpected("key column " + a.key.front() + " is not a mapped field");
    auto v = column_of_payload(*f, json::value(json::string(key)));
    if (!v) return unexpected("key " + std::string(key) + ": " + v.error());
    out.push_back(std::move(*v));
    return out;
  }
  boost::system::error_code ec;
  const auto parsed = json::parse(key, ec);
  if (ec || !parsed.is_array() || parsed.as_array().size() != a.key.size())
    return unexpected("key " + std::string(key) + " is not a JSON array of " + std::to_string(a.key.size()) +
                      " values (" + a.table + " has a composite key)");
  for (std::size_t i = 0; i < a.key.size(); ++i) {
    const auto* f = a.by_column(a.key[i]);
    if (!f) return unexpected("key column " + a.key[i] + " is not a mapped field");
    auto v = column_of_payload(*f, parsed.as_array()[i]);
    if (!v) return unexpected("key " + std::string(key) + ": " + v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace banyan::sync
