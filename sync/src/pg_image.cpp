#include "banyan/sync/pg_image.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace banyan::sync {

namespace json = boost::json;

namespace {

// Type OIDs (src/include/catalog/pg_type.dat): stable across releases.
constexpr std::uint32_t bool_oid = 16, int8_oid = 20, int2_oid = 21, int4_oid = 23, oid_oid = 26, float4_oid = 700,
                        float8_oid = 701, numeric_oid = 1700, timestamptz_oid = 1184;

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](std::string_view p) { return s.rfind(p, 0) == 0; });
}

// "2026-12-03 11:20:34.5+00" (ISO, UTC) as "2026-12-03T11:20:34.5Z"; anything else as it is
// (infinity, BC dates).
std::string rfc3339_of(std::string_view t) {
  if (t.size() < 22 || t[10] != ' ' || t.substr(t.size() - 3) != "+00") return std::string(t);
  std::string out(t.substr(0, t.size() - 3));
  out[10] = 'T';
  return out + "Z";
}

int column_index(const pgoutput::relation& rel, std::string_view name) {
  for (std::size_t i = 0; i < rel.columns.size(); ++i)
    if (rel.columns[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace

json::value pg_image_value(std::uint32_t type, std::string_view text) {
  switch (type) {
    case bool_oid:
      return json::value(text == "t");
    case int2_oid:
    case int4_oid:
    case int8_oid:
    case oid_oid: {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && end == text.data() + text.size()) return v;
      return json::string(text);
    }
    case float4_oid:
    case float8_oid:
    case numeric_oid: {
      double v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return json::string(text);
      // A numeric with more digits than a double keeps exactly travels as its text.
      if (type == numeric_oid) {
        const auto digits = std::count_if(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits > 15) return json::string(text);
      }
      return v;
    }
    case timestamptz_oid:
      return json::string(rfc3339_of(text));
    default:
      return json::string(text);
  }
}

std::optional<field_type> pg_field_type(std::string_view t) {
  if (t == "smallint" || t == "integer" || t == "bigint" || t == "oid") return field_type::integer;
  if (t == "real" || t == "double precision" || starts_with_any(t, {"numeric"})) return field_type::real;
  if (t == "boolean") return field_type::boolean;
  if (t == "json" || t == "jsonb") return field_type::json;
  if (starts_with_any(t, {"timestamp", "date"})) return field_type::timestamp;
  if (t == "bytea") return std::nullopt;
  return field_type::text;
}

bool pg_holds(std::string_view t, field_type want) {
  const auto has = pg_field_type(t);
  if (!has) return false;
  if (want == field_type::automatic || *has == want) return true;
  switch (want) {
    case field_type::integer: return *has == field_type::real || *has == field_type::text;
    case field_type::boolean: return *has == field_type::integer || *has == field_type::text;
    case field_type::real: return *has == field_type::text;
    case field_type::json:
    case field_type::timestamp: return *has == field_type::text;
    case field_type::text: return *has == field_type::json;
    case field_type::automatic: return true;
  }
  return false;
}

std::string relation_problem(const pgoutput::relation& rel, const aggregate_map& a) {
  for (const auto& c : image_columns(a))
    if (column_index(rel, c) < 0)
      return "column " + c + " of " + a.table + " is gone from the stream (dropped or renamed mid-stream): the map "
             "names it. Change the map, or put the column back, then start banyan-sync again";
  if (rel.replica_identity != 'f')
    return "table " + a.table + " no longer has REPLICA IDENTITY FULL (someone altered it): updates of large values "
           "and deletes cannot be published whole. ALTER TABLE " + a.table + " REPLICA IDENTITY FULL, and copy the "
           "followers again";
  return {};
}

expected<std::vector<logged_change>, std::string> logged_changes(const pgoutput::relation& rel,
                                                                 const pgoutput::change& ch, const aggregate_map& a) {
  const auto cols = image_columns(a);
  if (auto why = relation_problem(rel, a); !why.empty()) return unexpected(why);
  auto image = [&](const pgoutput::tuple& t, const pgoutput::tuple* fallback) -> expected<json::object, std::string> {
    json::object row;
    for (const auto& c : cols) {
      const auto i = static_cast<std::size_t>(column_index(rel, c));
      if (i >= t.size()) {
        // A key-only old row has the other columns unset: a delete needs only its key.
        row[c] = nullptr;
        continue;
      }
      const pgoutput::value* v = &t[i];
      if (v->what == pgoutput::value::kind::unchanged_toast) {
        if (!fallback || i >= fallback->size() || (*fallback)[i].what == pgoutput::value::kind::unchanged_toast)
          return unexpected("the unchanged large value of " + a.table + "." + c +
                            " is not in the stream (the table's replica identity is not FULL)");
        v = &(*fallback)[i];
      }
      row[c] = v->what == pgoutput::value::kind::null ? json::value(nullptr)
                                                      : pg_image_value(rel.columns[i].type, v->text);
    }
    return row;
  };
  std::vector<logged_change> out;
  using kind = pgoutput::change::kind;
  if (ch.what == kind::remove) {
    if (!ch.old_row) return unexpected("a delete on " + a.table + " without the old row");
    auto row = image(*ch.old_row, nullptr);
    if (!row) return unexpected(row.error());
    out.push_back({"deleted", std::move(*row)});
    return out;
  }
  if (!ch.new_row) return unexpected("a change on " + a.table + " without the new row");
  const pgoutput::tuple* old = ch.old_row ? &*ch.old_row : nullptr;
  auto row = image(*ch.new_row, old && !ch.old_is_key_only ? old : nullptr);
  if (!row) return unexpected(row.error());
  if (ch.what == kind::update && old) {
    auto before = image(*old, nullptr);
    if (!before) return unexpected(before.error());
    bool key_changed = false;
    for (const auto& k : a.key) key_changed = key_changed || before->at(k) != row->at(k);
    if (key_changed) out.push_back({"deleted", std::move(*before)});
  }
  out.push_back({ch.what == kind::insert ? "created" : "updated", std::move(*row)});
  return out;
}

}  // namespace banyan::sync
