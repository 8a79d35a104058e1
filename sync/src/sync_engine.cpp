#include "banyan/sync/sync_engine.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/sync/event_order.hpp"

namespace banyan::sync {

std::string_view to_string(sync_phase p) noexcept {
  switch (p) {
    case sync_phase::copying: return "copying";
    case sync_phase::catching_up: return "catching_up";
    case sync_phase::following: return "following";
  }
  return "copying";
}

sync_phase parse_phase(std::string_view text) noexcept {
  if (text == "following") return sync_phase::following;
  if (text == "catching_up") return sync_phase::catching_up;
  return sync_phase::copying;
}

namespace {

// Runs `change` in one transaction. It returns whether to commit (having saved the record last);
// when it says no or throws, nothing is written and the record in memory is put back as it was.
template <class Change>
void in_transaction(apply_store& store, sync_record& state, Change&& change) {
  const sync_record before = state;
  store.begin();
  try {
    if (!change()) {
      state = before;
      store.rollback();
      return;
    }
    store.commit();
  } catch (...) {
    state = before;
    try {
      store.rollback();
    } catch (...) {  // the connection is gone; so is the transaction
    }
    throw;
  }
}

}  // namespace

template <class Change>
void sync_engine::commit_together(Change&& change) {
  in_transaction(store_, state_, std::forward<Change>(change));
}


sync_engine::sync_engine(apply_store& store, std::string source) : store_(store), source_(std::move(source)) {
  state_ = store_.load(source_);
}

sync_engine::sync_engine(sqlite::connection& c, entity_sink& sink, std::string source, const state_storage& storage)
    : owned_(std::make_unique<sqlite_store>(c, sink, storage)), store_(*owned_), source_(std::move(source)) {
  state_ = store_.load(source_);
}

void sync_engine::begin_backfill(std::int64_t head) {
  sync_record next;
  next.exists = true;
  next.phase = sync_phase::copying;
  next.applied = head;
  next.backfill_position = head;
  next.backfill_started_at = now_rfc3339();
  commit_together([&] {
    state_ = next;
    store_.save(source_, state_);
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
  commit_together([&] {
    state_ = next;
    store_.save(source_, state_);
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
  commit_together([&] {
    for (const auto& row : page.rows) {
      auto r = store_.apply_row_in_page(row, sync_phase::copying);
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
    store_.save(source_, state_);
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
  commit_together([&] {
    for (std::size_t i = order.first; i < order.first + order.count; ++i) {
      const auto& e = page.events[i];
      apply_outcome r;
      if (e.aggregate != store_.aggregate()) {
        r = apply_outcome::ignored("another aggregate (" + e.aggregate + ")");
      } else {
        r = store_.apply_event(e, state_.phase);
      }
      if (r.what == apply_outcome::kind::failed) {
        out.stopped = true;
        out.why = "event " + std::to_string(e.id) + " (" + e.type + " " + e.key + ") cannot be applied: " + r.why;
        break;
      }
      if (r.what == apply_outcome::kind::ignored) {
        ++out.ignored;
        ++state_.events_ignored;
        if (e.aggregate == store_.aggregate()) out.last_ignored = "event " + std::to_string(e.id) + ": " + r.why;
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
    store_.save(source_, state_);
    return true;
  });
  return out;
}

}  // namespace banyan::sync
