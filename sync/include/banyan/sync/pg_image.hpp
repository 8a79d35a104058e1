#pragma once
// PostgreSQL rows as banyan-sync's row images (a JSON object of the mapped columns, what the
// SQLite triggers write): values from their text form by the column's type, and pgoutput's
// changes as the changelog entries they stand for. Pure and shared by the stream (capture) and
// the snapshot (a SELECT), so that both give the same image of the same row by construction.
//
// Both read text produced under the session settings pg_session_options() gives: UTC, ISO dates.
#include "banyan/platform/expected.hpp"
#include "banyan/sync/data_map.hpp"
#include "banyan/sync/pgoutput.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::sync {

// `options` for every connection banyan-sync opens to PostgreSQL (the walsender's included): the
// text form of timestamps and numbers the images are made of does not depend on the server's or
// the user's defaults.
inline constexpr std::string_view pg_session_options =
    "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=1";

// A value's JSON form by its type's OID: integers and floats as numbers (a float JSON cannot hold,
// NaN or Infinity, and a numeric beyond a double's exactness stay text), booleans as true/false,
// timestamptz as RFC 3339 in UTC, everything else (text, json, dates, uuid, …) as its text.
boost::json::value pg_image_value(std::uint32_t type, std::string_view text);

// What a column of this type (its name, as format_type gives it) carries in the feed: the field
// type an `automatic` field takes; nullopt for binary types a JSON feed cannot carry (bytea).
std::optional<field_type> pg_field_type(std::string_view type_name);
// Whether a column of this type stores values of the field's declared type as they are.
bool pg_holds(std::string_view type_name, field_type t);

// One changelog entry: created, updated or deleted, with the row's image.
struct logged_change {
  std::string op;
  boost::json::object row;
};

// Empty while the relation (as a Relation message describes it now) still has every column the
// aggregate's image needs, with its full row image logged; otherwise why the stream must stop (a
// mapped column dropped mid-stream). A column the map does not name is ignored.
std::string relation_problem(const pgoutput::relation& rel, const aggregate_map& a);

// The changelog entries a decoded change stands for: an insert is created, an update updated (and
// first the old row deleted when its key changed: followers key rows by it), a delete deleted.
// An unchanged TOAST value is taken from the old row's image (replica identity full).
expected<std::vector<logged_change>, std::string> logged_changes(const pgoutput::relation& rel,
                                                                 const pgoutput::change& ch, const aggregate_map& a);

}  // namespace banyan::sync
