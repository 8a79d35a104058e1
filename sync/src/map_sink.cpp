#include "banyan/sync/map_sink.hpp"

#include <algorithm>

namespace banyan::sync {

namespace {

void bind_column(sqlite::statement& st, int i, const column_value& v) {
  switch (v.what) {
    case column_value::kind::null: st.bind(i, nullptr); break;
    case column_value::kind::integer: st.bind(i, v.i); break;
    case column_value::kind::real: st.bind(i, v.r); break;
    case column_value::kind::text: st.bind(i, std::string_view(v.s)); break;
  }
}

// The applier's marker: the capture triggers skip changes made while it exists, and it exists only
// inside the applier's own transaction (SQLite has one writer: nobody else's change sees it).
struct applying {
  sqlite::connection& c;
  explicit applying(sqlite::connection& conn) : c(conn) { c.prepare_cached("INSERT INTO banyan_sync_applying VALUES (1)")->run(); }
  ~applying() {
    try {
      c.prepare_cached("DELETE FROM banyan_sync_applying")->run();
    } catch (...) {  // the enclosing savepoint is rolled back by the caller then
    }
  }
};

}  // namespace

apply_outcome map_sink::upsert(sqlite::connection& c, const boost::json::object& payload) {
  std::vector<std::string> cols;
  std::vector<column_value> values;
  for (const auto& f : a_.fields) {
    const auto* v = payload.if_contains(f.field);
    if (!v) continue;  // a field the payload does not carry keeps the row's value (or its default)
    auto converted = column_of_payload(f, *v);
    if (!converted) return apply_outcome::failed(converted.error());
    cols.push_back(f.column);
    values.push_back(std::move(*converted));
  }
  for (const auto& k : a_.key)
    if (std::find(cols.begin(), cols.end(), k) == cols.end())
      return apply_outcome::failed("the payload has no value for key column " + k);
  std::string names, marks, updates, keys;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    names += (i ? ", " : "") + cols[i];
    marks += i ? ", ?" : "?";
    if (std::find(a_.key.begin(), a_.key.end(), cols[i]) == a_.key.end())
      updates += (updates.empty() ? "" : ", ") + cols[i] + " = excluded." + cols[i];
  }
  for (std::size_t i = 0; i < a_.key.size(); ++i) keys += (i ? ", " : "") + a_.key[i];
  const std::string sql = "INSERT INTO " + a_.table + " (" + names + ") VALUES (" + marks + ") ON CONFLICT (" + keys +
                          ") DO " + (updates.empty() ? std::string("NOTHING") : "UPDATE SET " + updates);
  applying mark(c);
  auto st = c.prepare_cached(sql);
  for (std::size_t i = 0; i < values.size(); ++i) bind_column(*st, static_cast<int>(i + 1), values[i]);
  st->run();
  return apply_outcome::applied();
}

apply_outcome map_sink::remove(sqlite::connection& c, const std::string& key) {
  auto values = key_columns(a_, key);
  if (!values) return apply_outcome::failed(values.error());
  std::string where;
  for (std::size_t i = 0; i < a_.key.size(); ++i) where += (i ? " AND " : "") + a_.key[i] + " = ?";
  applying mark(c);
  auto st = c.prepare_cached("DELETE FROM " + a_.table + " WHERE " + where);
  for (std::size_t i = 0; i < values->size(); ++i) bind_column(*st, static_cast<int>(i + 1), (*values)[i]);
  st->run();
  return apply_outcome::applied();  // deleting what is not there leaves the same state: idempotent
}

apply_outcome map_sink::apply_row(sqlite::connection& c, const snapshot_row& row, sync_phase) {
  return upsert(c, row.payload);
}

apply_outcome map_sink::apply_event(sqlite::connection& c, const feed_event& e, sync_phase) {
  const auto dot = e.type.rfind('.');
  const std::string op = dot == std::string::npos ? e.type : e.type.substr(dot + 1);
  if (op == "deleted") return remove(c, e.key);
  if (!e.payload.is_object()) return apply_outcome::failed("the payload is not an object");
  return upsert(c, e.payload.as_object());
}

}  // namespace banyan::sync
