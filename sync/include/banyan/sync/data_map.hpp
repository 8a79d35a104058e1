#pragma once
// banyan-sync's map (docs/banyan-sync.md): which table each feed aggregate lives in, its key
// columns, and which payload field is which column with what type. Pure: the conversions between
// a table's row and a feed payload are here, so that capture (row → payload) and apply (payload →
// row) agree by construction, and both are tested without a database.
#include "banyan/platform/expected.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::sync {

// How a payload field is written as a column and read back. `automatic` takes the column's own
// type (its SQLite affinity, its PostgreSQL type) when the schema is checked.
enum class field_type { automatic, integer, real, text, boolean, json, timestamp };
std::string_view to_string(field_type t) noexcept;
std::optional<field_type> parse_field_type(std::string_view text) noexcept;

// Where something was written in the map's file, for FILE:LINE:COL diagnostics found later (the
// live schema is checked after the file is read).
struct map_position {
  int line = 0, column = 0;
};

struct field_map {
  std::string field;   // the payload's JSON name
  std::string column;  // the table's column
  field_type type = field_type::automatic;
  map_position at;
};

struct aggregate_map {
  std::string name;   // the feed's aggregate ("product")
  std::string table;  // "catalog_products"
  std::vector<std::string> key;  // key columns, in order; each also a mapped field
  std::vector<field_map> fields;
  map_position at, table_at, key_at;

  const field_map* by_column(std::string_view column) const noexcept;
  const field_map* by_field(std::string_view field) const noexcept;
};

struct data_map {
  std::vector<aggregate_map> aggregates;
  const aggregate_map* find(std::string_view aggregate) const noexcept;
  const aggregate_map* by_table(std::string_view table) const noexcept;
};

// One column's value as the database gives it (SQLite's storage classes; PostgreSQL's text form
// with its type resolved to one of these).
struct column_value {
  enum class kind { null, integer, real, text } what = kind::null;
  std::int64_t i = 0;
  double r = 0;
  std::string s;
  static column_value of_null() { return {}; }
  static column_value of(std::int64_t v) { return {kind::integer, v, 0, {}}; }
  static column_value of(double v) { return {kind::real, 0, v, {}}; }
  static column_value of(std::string v) { return {kind::text, 0, 0, std::move(v)}; }
  bool operator==(const column_value&) const = default;
};

// The columns a table's captured image carries: the key columns, then every mapped column.
std::vector<std::string> image_columns(const aggregate_map& a);

// A captured row image: column name → value, as the capture stored it (a JSON object of columns).
// Payload: field name → JSON, typed by the map. Columns the map does not name are left out (a
// column added to the table is not published until the map names it).
expected<boost::json::object, std::string> payload_of_row(const aggregate_map& a, const boost::json::object& row);

// The feed's key for a row image: the key column's value as text, or for several key columns a
// JSON array of their values (["EU", 42]).
expected<std::string, std::string> key_of_row(const aggregate_map& a, const boost::json::object& row);

// A payload field's value for its column, converted by the field's type; the error names the
// field, the value and the type ("price_cents: \"12.5\" is not an integer").
expected<column_value, std::string> column_of_payload(const field_map& f, const boost::json::value& v);

// The key columns' values from the feed's key text (the inverse of key_of_row).
expected<std::vector<column_value>, std::string> key_columns(const aggregate_map& a, std::string_view key);

}  // namespace banyan::sync
