#include "banyan/sync/pg_apply_store.hpp"

#include "banyan/sync/pg_capture.hpp"
#include "banyan/sync/pg_image.hpp"

#include <algorithm>
#include <cstdio>

namespace banyan::sync {

namespace json = boost::json;

namespace {

pg::param param_of(const column_value& v) {
  switch (v.what) {
    case column_value::kind::null: return std::nullopt;
    case column_value::kind::integer: return std::to_string(v.i);
    case column_value::kind::real: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.r);
      return std::string(buf);
    }
    case column_value::kind::text: return v.s;
  }
  return std::nullopt;
}

}  // namespace

pg_apply_store::pg_apply_store(const std::string& conninfo, aggregate_map a)
    : a_(std::move(a)), c_(conninfo, {{"options", std::string(pg_session_options)}}) {
  c_.exec(
      "CREATE TABLE IF NOT EXISTS banyan_sync_cursor (source text PRIMARY KEY, phase text NOT NULL, applied bigint NOT NULL,"
      " backfill_position bigint NOT NULL, copy_cursor text NOT NULL, rows_copied bigint NOT NULL, rows_total bigint,"
      " catchup_target bigint NOT NULL, events_applied bigint NOT NULL, events_ignored bigint NOT NULL,"
      " backfill_started_at text NOT NULL, copied_at text NOT NULL, caught_up_at text NOT NULL)");
  // One origin per database and aggregate: an origin is active in one session at a time, and each
  // follower has its own.
  const auto db = std::string(c_.exec("SELECT current_database()").text(0, 0));
  const std::string origin = std::string(apply_origin_prefix) + "/" + db + "/" + a_.name;
  c_.exec("SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
          {origin});
  c_.exec("SELECT pg_replication_origin_session_setup($1)", {origin});

  const auto table = c_.quote_identifier(a_.table);
  std::vector<std::string> cols, marks, updates, keys, key_marks;
  const auto image = image_columns(a_);
  for (std::size_t i = 0; i < a_.fields.size(); ++i) {
    const auto col = c_.quote_identifier(a_.fields[i].column);
    cols.push_back(col);
    marks.push_back("$" + std::to_string(i + 1));
    if (std::find(a_.key.begin(), a_.key.end(), a_.fields[i].column) == a_.key.end())
      updates.push_back(col + " = EXCLUDED." + col);
  }
  for (std::size_t i = 0; i < a_.key.size(); ++i) {
    keys.push_back(c_.quote_identifier(a_.key[i]));
    key_marks.push_back(keys.back() + " = $" + std::to_string(i + 1));
  }
  c_.prepare("upsert", "INSERT INTO " + table + " (" + pg::join(cols) + ") VALUES (" + pg::join(marks) + ") ON CONFLICT (" +
                           pg::join(keys) + ") DO " + (updates.empty() ? "NOTHING" : "UPDATE SET " + pg::join(updates)));
  c_.prepare("remove", "DELETE FROM " + table + " WHERE " + pg::join(key_marks, " AND "));
  if (a_.key.size() == 1) {
    const auto* f = a_.by_column(a_.key.front());
    if (f && f->type == field_type::integer) {
      auto r = c_.exec("SELECT pg_get_serial_sequence($1, $2)", {a_.table, a_.key.front()});
      if (r.rows() == 1 && !r.is_null(0, 0)) sequence_ = std::string(r.text(0, 0));
    }
  }
}

sync_record pg_apply_store::load(const std::string& source) {
  sync_record r;
  auto q = c_.exec(
      "SELECT phase, applied, backfill_position, copy_cursor, rows_copied, rows_total, catchup_target, events_applied,"
      " events_ignored, backfill_started_at, copied_at, caught_up_at FROM banyan_sync_cursor WHERE source = $1",
      {source});
  if (q.rows() == 0) return r;
  r.exists = true;
  r.phase = parse_phase(q.text(0, 0));
  r.applied = q.int64(0, 1);
  r.backfill_position = q.int64(0, 2);
  r.copy_cursor = std::string(q.text(0, 3));
  r.rows_copied = q.int64(0, 4);
  if (!q.is_null(0, 5)) r.rows_total = q.int64(0, 5);
  r.catchup_target = q.int64(0, 6);
  r.events_applied = q.int64(0, 7);
  r.events_ignored = q.int64(0, 8);
  r.backfill_started_at = std::string(q.text(0, 9));
  r.copied_at = std::string(q.text(0, 10));
  r.caught_up_at = std::string(q.text(0, 11));
  return r;
}

void pg_apply_store::begin() {
  max_id_.reset();
  savepoint_open_ = false;
  c_.exec("BEGIN");
}

void pg_apply_store::commit() {
  if (max_id_ && !sequence_.empty())
    // setval to the highest id applied unless the sequence is already past it: the app's next
    // nextval() returns a higher one.
    c_.exec("SELECT setval($1::regclass, $2::bigint) WHERE $2::bigint > (SELECT last_value FROM " + sequence_ + ")",
            {sequence_, std::to_string(*max_id_)});
  c_.exec("COMMIT");
}

void pg_apply_store::rollback() {
  max_id_.reset();
  c_.exec("ROLLBACK");
}

apply_outcome pg_apply_store::run_item(const std::string& statement, std::vector<pg::param> params) {
  // Round trips: the previous item's savepoint is released and this one's taken in one, and the last
  // is released by the COMMIT — two an item where there were three. A 100,000-row copy: 9.5k rows/s
  // with three, 13k with two; one (both in a libpq pipeline) measured no faster, 12k: what is left
  // is the server's work per statement (docs/performance.md, "banyan-sync on PostgreSQL").
  c_.exec(savepoint_open_ ? "RELEASE sync_item; SAVEPOINT sync_item" : "SAVEPOINT sync_item");
  savepoint_open_ = true;
  try {
    c_.exec_prepared(statement, params);
    return apply_outcome::applied();
  } catch (const pg::error& e) {
    if (!c_.ok()) throw;  // the connection went: a local failure, not this item's
    c_.exec("ROLLBACK TO sync_item");
    return apply_outcome::failed(e.what());
  }
}

apply_outcome pg_apply_store::upsert(const json::object& payload) {
  std::vector<pg::param> params;
  std::vector<std::string> cols;  // the columns the payload carries, when not all of them
  bool all = true;
  for (const auto& f : a_.fields) {
    const auto* v = payload.if_contains(f.field);
    if (!v) {
      // A field the payload does not carry keeps the row's value (or its default), as on SQLite.
      if (std::find(a_.key.begin(), a_.key.end(), f.column) != a_.key.end())
        return apply_outcome::failed("the payload has no value for key column " + f.column);
      all = false;
      continue;
    }
    auto col = column_of_payload(f, *v);
    if (!col) return apply_outcome::failed(col.error());
    if (a_.key.size() == 1 && f.column == a_.key.front() && col->what == column_value::kind::integer)
      max_id_ = std::max(max_id_.value_or(col->i), col->i);
    params.push_back(param_of(*col));
    cols.push_back(f.column);
  }
  if (all) return run_item("upsert", std::move(params));
  std::vector<std::string> names, marks, updates, keys;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    names.push_back(c_.quote_identifier(cols[i]));
    marks.push_back("$" + std::to_string(i + 1));
    if (std::find(a_.key.begin(), a_.key.end(), cols[i]) == a_.key.end())
      updates.push_back(names.back() + " = EXCLUDED." + names.back());
  }
  for (const auto& k : a_.key) keys.push_back(c_.quote_identifier(k));
  // A shape of its own (fields missing): prepared once per shape, by the columns it has.
  std::string name = "upsert";
  for (const auto& col : cols) name += ":" + col;
  if (prepared_.insert(name).second)
    c_.prepare(name, "INSERT INTO " + c_.quote_identifier(a_.table) + " (" + pg::join(names) + ") VALUES (" + pg::join(marks) +
                         ") ON CONFLICT (" + pg::join(keys) + ") DO " + (updates.empty() ? "NOTHING" : "UPDATE SET " + pg::join(updates)));
  return run_item(name, std::move(params));
}

apply_outcome pg_apply_store::remove(const std::string& key) {
  auto cols = key_columns(a_, key);
  if (!cols) return apply_outcome::failed(cols.error());
  std::vector<pg::param> params;
  for (const auto& v : *cols) params.push_back(param_of(v));
  return run_item("remove", std::move(params));
}

apply_outcome pg_apply_store::apply_row(const snapshot_row& row, sync_phase) { return upsert(row.payload); }

apply_outcome pg_apply_store::apply_event(const feed_event& e, sync_phase) {
  const auto op = e.type.substr(e.type.rfind('.') + 1);
  if (op == "deleted") return remove(e.key);
  if (!e.payload.is_object()) return apply_outcome::failed("the payload is not an object");
  return upsert(e.payload.as_object());
}

void pg_apply_store::save(const std::string& source, const sync_record& r) {
  auto opt_text = [](const std::optional<std::int64_t>& v) -> pg::param {
    return v ? pg::param(std::to_string(*v)) : std::nullopt;
  };
  c_.exec(
      "INSERT INTO banyan_sync_cursor(source, phase, applied, backfill_position, copy_cursor, rows_copied, rows_total,"
      " catchup_target, events_applied, events_ignored, backfill_started_at, copied_at, caught_up_at)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
      " ON CONFLICT(source) DO UPDATE SET phase = $2, applied = $3, backfill_position = $4, copy_cursor = $5,"
      " rows_copied = $6, rows_total = $7, catchup_target = $8, events_applied = $9, events_ignored = $10,"
      " backfill_started_at = $11, copied_at = $12, caught_up_at = $13",
      {source, std::string(to_string(r.phase)), std::to_string(r.applied), std::to_string(r.backfill_position),
       r.copy_cursor, std::to_string(r.rows_copied), opt_text(r.rows_total), std::to_string(r.catchup_target),
       std::to_string(r.events_applied), std::to_string(r.events_ignored), r.backfill_started_at, r.copied_at,
       r.caught_up_at});
}

}  // namespace banyan::sync
