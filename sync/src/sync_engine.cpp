#include "banyan/sync/sync_engine.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/sync/event_order.hpp"

#include <array>

namespace banyan::sync {

std::string_view to_string(sync_phase p) noexcept {
  switch (p) {
    case sync_phase::copying: return "copying";
    case sync_phase::catching_up: return "catching_up";
    case sync_phase::following: return "following";
  }
  return "copying";
}

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

sync_phase phase_of(std::string_view text) {
  if (text == "following") return sync_phase::following;
  if (text == "catching_up") return sync_phase::catching_up;
  return sync_phase::copying;
}

// Runs `apply` inside a savepoint: a failed or throwing apply leaves nothing behind.
template <class F>
apply_outcome in_savepoint(sqlite::connection& c, F&& apply) {
  c.exec("SAVEPOINT sync_item");
  apply_outcome out;
  try {
    out = apply();
  } catch (const std::exception& e) {
    out = apply_outcome::failed(e.what());
  }
  if (out.what == apply_outcome::kind::failed) c.exec("ROLLBACK TO sync_item");
  c.exec("RELEASE sync_item");
  return out;
}

// Runs `change` in one transaction. It returns whether to commit (having saved the record last);
// when it says no or throws, nothing is written and the record in memory is put back as it was.
template <class Change>
void commit_together(sqlite::connection& db, sync_record& state, Change&& change) {
  const sync_record before = state;
  try {
    sqlite::transaction tx(db);
    if (!change()) {
      state = before;
      return;
    }
    tx.commit();
  } catch (...) {
    state = before;
    throw;
  }
}

}  // namespace

sync_engine::sync_engine(sqlite::connection& c, entity_sink& sink, std::string source, const state_storage& storage)
    : db_(c), sink_(sink), table_(storage.table), source_(std::move(source)) {
  if (storage.versioned) sqlite::migrate(c, "sync", migrations());
  else c.exec("CREATE TABLE IF NOT EXISTS " + table_ + " (" + std::string(record_columns));
  auto st = c.prepare(
      "SELECT phase, applied, backfill_position, copy_cursor, rows_copied, rows_total, catchup_target,"
      " events_applied, events_ignored, backfill_started_at, copied_at, caught_up_at FROM " + table_ + " WHERE source = ?");
  st.bind(1, source_);
  if (st.step()) {
    state_.exists = true;
    state_.phase = phase_of(st.get_text(0));
    state_.applied = st.get_int64(1);
    state_.backfill_position = st.get_int64(2);
    state_.copy_cursor = st.get_text(3);
    state_.rows_copied = st.get_int64(4);
    if (!st.is_null(5)) state_.rows_total = st.get_int64(5);
    state_.catchup_target = st.get_int64(6);
    state_.events_applied = st.get_int64(7);
    state_.events_ignored = st.get_int64(8);
    state_.backfill_started_at = st.get_text(9);
    state_.copied_at = st.get_text(10);
    state_.caught_up_at = st.get_text(11);
  }
}

void sync_engine::save(sqlite::connection& c) {
  c.prepare_cached(
       "INSERT INTO " + table_ + "(source, phase, applied, backfill_position, copy_cursor, rows_copied, rows_total,"
       " catchup_target, events_applied, events_ignored, backfill_started_at, copied_at, caught_up_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
       " ON CONFLICT(source) DO UPDATE SET phase = ?2, applied = ?3, backfill_position = ?4, copy_cursor = ?5,"
       " rows_copied = ?6, rows_total = ?7, catchup_target = ?8, events_applied = ?9, events_ignored = ?10,"
       " backfill_started_at = ?11, copied_at = ?12, caught_up_at = ?13")
      ->bind_all(source_, std::string(to_string(state_.phase)), state_.applied, state_.backfill_position,
                state_.copy_cursor, state_.rows_copied, state_.rows_total, state_.catchup_target,
                state_.events_applied, state_.events_ignored, state_.backfill_started_at, state_.copied_at,
                state_.caught_up_at)
      .run();
}

void sync_engine::begin_backfill(std::int64_t head) {
  sync_record next;
  next.exists = true;
  next.phase = sync_phase::copying;
  next.applied = head;
  next.backfill_position = head;
  next.backfill_started_at = now_rfc3339();
  commit_together(db_, state_, [&] {
    state_ = next;
    save(db_);
    return true;
  });
}

void sync_engine::begin_following(std::int64_t position) {
  sync_record next;
  next.exists = true;
  next.phase = sync_phase::following;
  next.applied = position;
  next.backfill_position = position;
  next.backfill_started_at = next.copied_at = next.caught_up_at = now_rfc3339();
  commit_together(db_, state_, [&] {
    state_ = next;
    save(db_);
    return true;
  });
}

page_result sync_engine::copy_page(const snapshot_page& page, std::int64_t head_now) {
  page_result out;
  if (!state_.exists || state_.phase != sync_phase::copying) {
    out.stopped = true;
    out.why = "no backfill in progress";
    return out;
  }
  commit_together(db_, state_, [&] {
    for (const auto& row : page.rows) {
      auto r = in_savepoint(db_, [&] { return sink_.apply_row(db_, row, sync_phase::copying); });
      if (r.what == apply_outcome::kind::failed) {
        // Nothing of this page commits: the copy resumes at this page once the cause is fixed.
        out.stopped = true;
        out.why = "snapshot row " + row.key + " cannot be applied: " + r.why;
        out.applied = 0;
        return false;
      }
      if (r.what == apply_outcome::kind::ignored) {
        ++out.ignored;
        out.last_ignored = "snapshot row " + row.key + ": " + r.why;
      } else {
        ++out.applied;
      }
    }
    state_.rows_copied += static_cast<std::int64_t>(out.applied);
    if (page.total) state_.rows_total = page.total;
    state_.copy_cursor = page.next;
    if (page.done) {
      state_.phase = sync_phase::catching_up;
      state_.copied_at = now_rfc3339();
      state_.catchup_target = head_now;
      if (state_.applied >= state_.catchup_target) {
        state_.phase = sync_phase::following;
        state_.caught_up_at = state_.copied_at;
      }
    }
    save(db_);
    return true;
  });
  return out;
}

page_result sync_engine::apply_page(const feed_page& page) {
  page_result out;
  if (!state_.exists || state_.phase == sync_phase::copying) {
    out.stopped = true;
    out.why = "the backfill has not finished copying";
    return out;
  }
  const auto order = check_order(state_.applied, page.events);
  out.replayed = order.first;
  if (order.count == 0) {
    out.stopped = order.broken;
    out.why = order.why;
    return out;
  }
  commit_together(db_, state_, [&] {
    for (std::size_t i = order.first; i < order.first + order.count; ++i) {
      const auto& e = page.events[i];
      apply_outcome r;
      if (e.aggregate != sink_.aggregate()) {
        r = apply_outcome::ignored("another aggregate (" + e.aggregate + ")");
      } else {
        r = in_savepoint(db_, [&] { return sink_.apply_event(db_, e, state_.phase); });
      }
      if (r.what == apply_outcome::kind::failed) {
        out.stopped = true;
        out.why = "event " + std::to_string(e.id) + " (" + e.type + " " + e.key + ") cannot be applied: " + r.why;
        break;
      }
      if (r.what == apply_outcome::kind::ignored) {
        ++out.ignored;
        ++state_.events_ignored;
        if (e.aggregate == sink_.aggregate()) out.last_ignored = "event " + std::to_string(e.id) + ": " + r.why;
      } else {
        ++out.applied;
        ++state_.events_applied;
      }
      state_.applied = e.id;
    }
    if (!out.stopped && order.broken) {
      out.stopped = true;
      out.why = order.why;
    }
    if (state_.phase == sync_phase::catching_up && state_.applied >= state_.catchup_target) {
      state_.phase = sync_phase::following;
      state_.caught_up_at = now_rfc3339();
    }
    save(db_);
    return true;
  });
  return out;
}

}  // namespace banyan::sync
