#include "banyan/sync/apply_store.hpp"

#include <array>

namespace banyan::sync {

namespace {

// The columns of the record, after "CREATE TABLE <name> (".
constexpr std::string_view record_columns =
    " source TEXT PRIMARY KEY, phase TEXT NOT NULL, applied INTEGER NOT NULL,"
    " backfill_position INTEGER NOT NULL, copy_cursor TEXT NOT NULL, rows_copied INTEGER NOT NULL,"
    " rows_total INTEGER, catchup_target INTEGER NOT NULL, events_applied INTEGER NOT NULL,"
    " events_ignored INTEGER NOT NULL, backfill_started_at TEXT NOT NULL, copied_at TEXT NOT NULL,"
    " caught_up_at TEXT NOT NULL)";

std::span<const sqlite::migration> migrations() {
  static const std::string create = "CREATE TABLE sync_state (" + std::string(record_columns);
  static const std::array<sqlite::migration, 1> list{{
      {1, "create sync_state", create},
  }};
  return list;
}

// Runs `apply` inside a savepoint: a failed or throwing apply leaves nothing behind.
template <class F>
apply_outcome in_savepoint(sqlite::connection& c, F&& apply) {
  c.exec_cached("SAVEPOINT sync_item");
  apply_outcome out;
  try {
    out = apply();
  } catch (const std::exception& e) {
    out = apply_outcome::failed(e.what());
  }
  if (out.what == apply_outcome::kind::failed) c.exec_cached("ROLLBACK TO sync_item");
  c.exec_cached("RELEASE sync_item");
  return out;
}

}  // namespace

sqlite_store::sqlite_store(sqlite::connection& c, entity_sink& sink, state_storage storage)
    : db_(c), sink_(sink), table_(std::move(storage.table)) {
  if (storage.versioned) sqlite::migrate(c, "sync", migrations());
  else c.exec("CREATE TABLE IF NOT EXISTS " + table_ + " (" + std::string(record_columns));
}

sync_record sqlite_store::load(const std::string& source) {
  sync_record r;
  auto st = db_.prepare(
      "SELECT phase, applied, backfill_position, copy_cursor, rows_copied, rows_total, catchup_target,"
      " events_applied, events_ignored, backfill_started_at, copied_at, caught_up_at FROM " + table_ + " WHERE source = ?");
  st.bind(1, source);
  if (st.step()) {
    r.exists = true;
    r.phase = parse_phase(st.get_text(0));
    r.applied = st.get_int64(1);
    r.backfill_position = st.get_int64(2);
    r.copy_cursor = st.get_text(3);
    r.rows_copied = st.get_int64(4);
    if (!st.is_null(5)) r.rows_total = st.get_int64(5);
    r.catchup_target = st.get_int64(6);
    r.events_applied = st.get_int64(7);
    r.events_ignored = st.get_int64(8);
    r.backfill_started_at = st.get_text(9);
    r.copied_at = st.get_text(10);
    r.caught_up_at = st.get_text(11);
  }
  return r;
}

// BEGIN IMMEDIATE, as sqlite::transaction does: the write lock up front.
void sqlite_store::begin() { db_.exec_cached("BEGIN IMMEDIATE"); }
void sqlite_store::commit() { db_.exec_cached("COMMIT"); }
void sqlite_store::rollback() { db_.exec_cached("ROLLBACK"); }

apply_outcome sqlite_store::apply_row(const snapshot_row& row, sync_phase phase) {
  return in_savepoint(db_, [&] { return sink_.apply_row(db_, row, phase); });
}

apply_outcome sqlite_store::apply_row_in_page(const snapshot_row& row, sync_phase phase) {
  try {
    return sink_.apply_row(db_, row, phase);
  } catch (const std::exception& e) {
    return apply_outcome::failed(e.what());
  }
}

apply_outcome sqlite_store::apply_event(const feed_event& e, sync_phase phase) {
  return in_savepoint(db_, [&] { return sink_.apply_event(db_, e, phase); });
}

void sqlite_store::save(const std::string& source, const sync_record& r) {
  db_.prepare_cached(
       "INSERT INTO " + table_ + "(source, phase, applied, backfill_position, copy_cursor, rows_copied, rows_total,"
       " catchup_target, events_applied, events_ignored, backfill_started_at, copied_at, caught_up_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
       " ON CONFLICT(source) DO UPDATE SET phase = ?2, applied = ?3, backfill_position = ?4, copy_cursor = ?5,"
       " rows_copied = ?6, rows_total = ?7, catchup_target = ?8, events_applied = ?9, events_ignored = ?10,"
       " backfill_started_at = ?11, copied_at = ?12, caught_up_at = ?13")
      ->bind_all(source, std::string(to_string(r.phase)), r.applied, r.backfill_position, r.copy_cursor,
                r.rows_copied, r.rows_total, r.catchup_target, r.events_applied, r.events_ignored,
                r.backfill_started_at, r.copied_at, r.caught_up_at)
      .run();
}

}  // namespace banyan::sync
