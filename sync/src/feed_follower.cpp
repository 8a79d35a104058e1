#include "banyan/sync/feed_follower.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/sync_engine.hpp"

#include <atomic>
#include <future>
#include <optional>

namespace banyan::sync {

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

struct feed_follower::impl {
  store_factory open_store;
  std::string aggregate;
  follower_options opt;
  metrics::registry* metrics;

  mutable std::mutex mutex;  // guards status and the wake-up
  std::condition_variable wake;
  bool stopping = false;
  sync_status current;
  // For lag_seconds: when the oldest unapplied event (or an upper bound on it) committed.
  std::optional<std::chrono::system_clock::time_point> oldest_unapplied;
  std::optional<std::chrono::system_clock::time_point> last_contact;
  std::thread thread;

  struct series {
    metrics::gauge *applied, *head, *lag_events, *lag_seconds, *rows_done, *rows_total, *following, *stopped,
        *reachable;
    metrics::counter *events_applied, *events_ignored, *fetch_failures;
  };
  std::optional<series> m;

  impl(store_factory f, std::string agg, follower_options o, metrics::registry* reg)
      : open_store(std::move(f)), aggregate(std::move(agg)), opt(std::move(o)), metrics(reg) {
    current.source = opt.source_url;
    current.entity = aggregate;
    current.state = "backfilling";
    current.backfill.phase = "copying";
    if (metrics) {
      const metrics::labels l{{"source", opt.source_url}, {"entity", current.entity}};
      auto& r = *metrics;
      m = series{&r.get_gauge("banyan_sync_applied_position", "Last feed event applied", l),
                 &r.get_gauge("banyan_sync_source_head", "Newest event of the source, as last seen", l),
                 &r.get_gauge("banyan_sync_lag_events", "Events of the source not yet applied", l),
                 &r.get_gauge("banyan_sync_lag_seconds", "Age of the oldest event not yet applied", l),
                 &r.get_gauge("banyan_sync_backfill_rows_done", "Rows copied by the backfill", l),
                 &r.get_gauge("banyan_sync_backfill_rows_total", "Rows the backfill copies (0: not known)", l),
                 &r.get_gauge("banyan_sync_following", "1 once the backfill is complete and the feed followed", l),
                 &r.get_gauge("banyan_sync_stopped", "1 when the sync stopped at a gap or an unappliable change", l),
                 &r.get_gauge("banyan_sync_source_reachable", "1 while the source answers", l),
                 &r.get_counter("banyan_sync_events_applied_total", "Feed events applied", l),
                 &r.get_counter("banyan_sync_events_ignored_total", "Feed events ignored (other aggregates or by the service)", l),
                 &r.get_counter("banyan_sync_fetch_failures_total", "Requests to the source that failed", l)};
    }
  }

  // Waits `d` unless stopped meanwhile; false when stopping.
  bool sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, d, [&] { return stopping; });
    return !stopping;
  }
  bool stop_requested() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  // Status from the engine's record plus what this run saw; under the lock.
  void publish(const sync_record& rec, std::int64_t head, double copy_rate) {
    std::lock_guard lock(mutex);
    auto& s = current;
    s.applied = rec.applied;
    s.head = std::max(head, rec.applied);
    s.lag_events = s.head - rec.applied;
    s.events_applied = rec.events_applied;
    s.events_ignored = rec.events_ignored;
    if (s.state != "stopped") s.state = rec.exists && rec.phase == sync_phase::following ? "following" : "backfilling";
    s.backfill.phase = !rec.exists ? "copying" : rec.phase == sync_phase::following ? "done" : std::string(to_string(rec.phase));
    s.backfill.position = rec.backfill_position;
    s.backfill.rows_done = rec.rows_copied;
    s.backfill.rows_total = rec.rows_total;
    if (copy_rate >= 0) s.backfill.rows_per_second = copy_rate;
    s.backfill.started_at = rec.backfill_started_at;
    s.backfill.copied_at = rec.copied_at;
    s.backfill.caught_up_at = rec.caught_up_at;
    if (s.lag_events == 0) oldest_unapplied.reset();
    if (m) {
      m->applied->set(static_cast<double>(s.applied));
      m->head->set(static_cast<double>(s.head));
      m->lag_events->set(static_cast<double>(s.lag_events));
      m->rows_done->set(static_cast<double>(s.backfill.rows_done));
      m->rows_total->set(static_cast<double>(s.backfill.rows_total.value_or(0)));
      m->following->set(s.state == "following" ? 1 : 0);
      m->stopped->set(s.state == "stopped" ? 1 : 0);
      m->reachable->set(s.source_reachable ? 1 : 0);
    }
  }

  void contact_ok() {
    std::lock_guard lock(mutex);
    last_contact = std::chrono::system_clock::now();
    current.last_contact = format_rfc3339(*last_contact);
    current.source_reachable = true;
    if (current.state != "stopped") current.why.clear();
  }
  void contact_failed(const std::string& why) {
    std::lock_guard lock(mutex);
    current.source_reachable = false;
    if (current.state != "stopped") current.why = why;
    if (m) {
      m->fetch_failures->inc();
      m->reachable->set(0);
    }
  }
  bool halted = false;  // the run loop's own: a stopped sync fetches nothing more
  void halt(const std::string& why) {
    halted = true;
    {
      std::lock_guard lock(mutex);
      current.state = "stopped";
      current.why = why;
      if (m) m->stopped->set(1);
    }
    log::error("sync stopped", {{"source", opt.source_url}, {"entity", current.entity}, {"why", why}});
  }

  // GET a page; the body on 200, nullopt (with the reason recorded) otherwise.
  std::optional<std::string> fetch(http::client& c, const std::string& target) {
    auto r = c.get(target);
    if (!r) {
      contact_failed(r.error().message);
      return std::nullopt;
    }
    if (r->status != 200) {
      contact_failed(c.url().origin() + target + " answered " + std::to_string(r->status));
      return std::nullopt;
    }
    contact_ok();
    return std::move(r->body);
  }

  std::optional<feed_page> fetch_events(http::client& c, std::int64_t after, int limit, bool& malformed,
                                       std::int64_t wait_ms = 0) {
    malformed = false;
    auto body = fetch(c, events_target(after, limit) + (wait_ms > 0 ? "&wait=" + std::to_string(wait_ms) : ""));
    if (!body) return std::nullopt;
    auto page = parse_feed_page(*body);
    if (!page) {
      malformed = true;
      halt("the source's feed is malformed: " + page.error());
      return std::nullopt;
    }
    return std::move(*page);
  }

  std::unique_ptr<apply_store> store;
  std::unique_ptr<sync_engine> engine;

  // On the caller's thread, so that the status is the stored one as soon as start() returns.
  bool open() {
    try {
      store = open_store();
      engine = std::make_unique<sync_engine>(*store, opt.cursor_key.empty() ? opt.source_url : opt.cursor_key);
    } catch (const std::exception& e) {
      halt(std::string("cannot open the sync state: ") + e.what());
      return false;
    }
    publish(engine->state(), engine->state().applied, -1);
    return true;
  }

  void run() {
    http::client_options copt;
    copt.timeout = opt.request_timeout;
    // Named by its record: a publisher keeps each follower's position apart by it (pruning).
    copt.user_agent = "banyan-sync (" + (opt.name.empty() ? opt.cursor_key.empty() ? opt.source_url : opt.cursor_key : opt.name) + ")";
    http::client source(opt.source_url, copt);
    // The backfill asks for the next snapshot page while it applies this one: the source's work
    // (read, serialise) and ours (parse, apply, commit) overlap instead of taking turns.
    http::client ahead(opt.source_url, copt);
    struct prefetched {
      std::string cursor;
      std::future<std::optional<std::string>> body;
    };
    std::optional<prefetched> next_page;
    auto backoff = opt.backoff_min;
    std::int64_t head = engine->state().applied;
    const auto run_started = clock_type::now();
    const std::int64_t rows_at_start = engine->state().rows_copied;
    auto last_progress_log = clock_type::now() - std::chrono::hours(1);
    publish(engine->state(), head, -1);
    auto failed = [&] {
      if (engine) publish(engine->state(), head, -1);
      const bool go_on = sleep_for(backoff);
      backoff = std::min(backoff * 2, opt.backoff_max);
      return go_on;
    };

    while (!stop_requested() && !halted) {
      if (!engine) {
        // After a local failure the store is opened afresh and the record read back: the failure
        // may have been a commit that went through unanswered (PostgreSQL restarting), and the
        // connection it broke does not come back by itself.
        try {
          store = open_store();
          engine = std::make_unique<sync_engine>(*store, opt.cursor_key.empty() ? opt.source_url : opt.cursor_key);
          head = std::max(head, engine->state().applied);
          publish(engine->state(), head, -1);
        } catch (const std::exception& e) {
          {
            std::lock_guard lock(mutex);
            current.why = std::string("local: ") + e.what();
          }
          if (!failed()) return;
          continue;
        }
      }
      const sync_record& rec = engine->state();
      bool malformed = false;
      try {
        if (!rec.exists && !opt.backfill) {
          engine->begin_following(0);
          log::info("following without a backfill", {{"source", opt.source_url}, {"entity", current.entity}});
        } else if (!rec.exists) {
          // The feed position first: every write after it is replayed over the copy.
          auto page = fetch_events(source, 0, 1, malformed);
          if (malformed) return;
          if (!page) {
            if (!failed()) return;
            continue;
          }
          head = page->head;
          engine->begin_backfill(page->head);
          log::info("backfill started", {{"source", opt.source_url}, {"entity", current.entity}, {"position", page->head}});
        } else if (rec.phase == sync_phase::copying) {
          std::optional<std::string> body;
          if (next_page && next_page->cursor == rec.copy_cursor) body = next_page->body.get();
          else body = fetch(source, snapshot_target(aggregate, rec.copy_cursor, opt.page_limit));
          next_page.reset();  // (one for another cursor waits for its answer here, unused)
          if (!body) {
            if (!failed()) return;
            continue;
          }
          auto page = parse_snapshot_page(*body);
          if (!page) return halt("the source's snapshot is malformed: " + page.error());
          if (!page->done)
            next_page = prefetched{page->next, std::async(std::launch::async, [this, &ahead, t = snapshot_target(aggregate, page->next, opt.page_limit)] {
                                     return fetch(ahead, t);
                                   })};
          std::int64_t head_now = head;
          if (page->done) {  // the copy ends here: catch up to the feed as it is now
            auto feed = fetch_events(source, rec.applied, 1, malformed);
            if (malformed) return;
            if (!feed) {
              if (!failed()) return;
              continue;
            }
            head_now = head = feed->head;
          }
          const auto r = engine->copy_page(*page, head_now);
          if (r.stopped) return halt(r.why);
          if (!r.last_ignored.empty()) log::warn("snapshot row ignored", {{"why", r.last_ignored}});
          const double secs = std::chrono::duration<double>(clock_type::now() - run_started).count();
          const double rate = secs > 0 ? static_cast<double>(engine->state().rows_copied - rows_at_start) / secs : 0;
          publish(engine->state(), head, rate);
          if (page->done || clock_type::now() - last_progress_log > std::chrono::seconds(5)) {
            last_progress_log = clock_type::now();
            const auto& st = engine->state();
            log::info(page->done ? "backfill copied" : "backfill progress",
                      {{"source", opt.source_url}, {"entity", current.entity}, {"rows_done", st.rows_copied},
                       {"rows_total", st.rows_total ? json::value(*st.rows_total) : json::value(nullptr)},
                       {"rows_per_second", rate}});
          }
        } else {
          // Caught up: wait at the source for the next event rather than here.
          const bool waiting = opt.long_poll.count() > 0 && rec.applied >= head;
          const auto asked = clock_type::now();
          auto page = fetch_events(source, rec.applied, opt.page_limit, malformed, waiting ? opt.long_poll.count() : 0);
          if (malformed) return;
          if (!page) {
            if (!failed()) return;
            continue;
          }
          head = page->head;
          if (page->pruned_through && *page->pruned_through > rec.applied)
            // The source removed events this follower has not applied: waiting cannot bring them back.
            return halt("the source no longer has the events after " + std::to_string(rec.applied) + " (it pruned through " +
                        std::to_string(*page->pruned_through) +
                        "); copy again: stop this follower, remove its sync record, start it");
          if (head < rec.applied && !page->pruned_through)
            // The source's changelog was made anew (uninstalled, its state directory emptied): its ids
            // name other changes now. Waiting would sit silently below a position that will be reused.
            return halt("the source's feed starts over: its head is " + std::to_string(head) +
                        ", below the position applied here (" + std::to_string(rec.applied) +
                        "); copy again: stop this follower, remove its sync record, start it");
          if (!page->events.empty()) {
            // The first event after the cursor is the oldest unapplied one.
            for (const auto& e : page->events)
              if (e.id > rec.applied) {
                std::chrono::system_clock::time_point t;
                if (parse_rfc3339(e.at, t)) {
                  std::lock_guard lock(mutex);
                  oldest_unapplied = t;
                }
                break;
              }
          } else if (head > rec.applied) {
            return halt("feed gap: the source's head is event " + std::to_string(head) + " but it lists no event after " +
                        std::to_string(rec.applied));
          }
          const bool was_following = rec.phase == sync_phase::following;
          const auto r = engine->apply_page(*page);
          if (m && r.applied) m->events_applied->inc(static_cast<double>(r.applied));
          if (m && r.ignored) m->events_ignored->inc(static_cast<double>(r.ignored));
          if (!r.last_ignored.empty()) log::warn("feed event ignored", {{"source", opt.source_url}, {"why", r.last_ignored}});
          if (r.applied && engine->state().applied < head && !page->events.empty()) {
            // More to come: the last applied event's time bounds the next one's age from above.
            std::chrono::system_clock::time_point t;
            if (parse_rfc3339(page->events[r.replayed + r.applied + r.ignored - 1].at, t)) {
              std::lock_guard lock(mutex);
              oldest_unapplied = t;
            }
          }
          publish(engine->state(), head, -1);
          if (r.stopped) return halt(r.why);
          if (!was_following && engine->state().phase == sync_phase::following)
            log::info("sync caught up", {{"source", opt.source_url}, {"entity", current.entity}, {"applied", engine->state().applied}});
          backoff = opt.backoff_min;
          // With long polls the next request waits at the source; only a source that answered an
          // empty page at once (it does not know `wait`) is polled at the interval.
          const bool source_waits = opt.long_poll.count() > 0 &&
                                    (!page->events.empty() || clock_type::now() - asked >= opt.long_poll / 2);
          if (engine->state().applied >= head && !source_waits && !sleep_for(opt.poll_interval)) return;
          continue;
        }
        backoff = opt.backoff_min;
      } catch (const std::exception& e) {
        // A local failure (the database busy or full): nothing was committed; try again later.
        log::error("sync step failed", {{"source", opt.source_url}, {"error", e.what()}});
        {
          std::lock_guard lock(mutex);
          current.why = std::string("local: ") + e.what();
        }
        engine.reset();
        store.reset();
        if (!failed()) return;
      }
    }
  }
};

namespace {

// A SQLite database file opened for the follower, with the sink that knows its tables.
class sqlite_file_store final : public apply_store {
 public:
  sqlite_file_store(const std::string& path, entity_sink& sink, const follower_options& o)
      : conn_(path, o.open), store_(conn_, sink, o.storage) {}
  std::string_view aggregate() const override { return store_.aggregate(); }
  sync_record load(const std::string& source) override { return store_.load(source); }
  void begin() override { store_.begin(); }
  void commit() override { store_.commit(); }
  void rollback() override { store_.rollback(); }
  apply_outcome apply_row(const snapshot_row& row, sync_phase phase) override { return store_.apply_row(row, phase); }
  apply_outcome apply_event(const feed_event& e, sync_phase phase) override { return store_.apply_event(e, phase); }
  apply_outcome apply_row_in_page(const snapshot_row& row, sync_phase phase) override {
    return store_.apply_row_in_page(row, phase);
  }
  void save(const std::string& source, const sync_record& r) override { store_.save(source, r); }

 private:
  sqlite::connection conn_;
  sqlite_store store_;
};

}  // namespace

feed_follower::feed_follower(std::string db_path, entity_sink& sink, follower_options options, metrics::registry* metrics)
    : impl_(std::make_unique<impl>(
          [path = std::move(db_path), &sink, options]() -> std::unique_ptr<apply_store> {
            return std::make_unique<sqlite_file_store>(path, sink, options);
          },
          std::string(sink.aggregate()), options, metrics)) {}

feed_follower::feed_follower(store_factory open_store, std::string aggregate, follower_options options,
                             metrics::registry* metrics)
    : impl_(std::make_unique<impl>(std::move(open_store), std::move(aggregate), std::move(options), metrics)) {}

feed_follower::~feed_follower() { stop(); }

void feed_follower::start() {
  if (impl_->thread.joinable() || impl_->engine) return;
  if (!impl_->open()) return;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void feed_follower::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

sync_status feed_follower::status() const {
  std::lock_guard lock(impl_->mutex);
  sync_status s = impl_->current;
  const auto now = std::chrono::system_clock::now();
  double lag = 0;
  if (s.lag_events > 0 && impl_->oldest_unapplied)
    lag = std::chrono::duration<double>(now - *impl_->oldest_unapplied).count();
  // A source that does not answer cannot show that nothing happened since: its silence counts.
  if (!s.source_reachable && impl_->last_contact)
    lag = std::max(lag, std::chrono::duration<double>(now - *impl_->last_contact).count());
  s.lag_seconds = std::max(0.0, lag);
  if (impl_->m) impl_->m->lag_seconds->set(s.lag_seconds);
  return s;
}

bool feed_follower::ready(std::int64_t max_lag_events, double max_lag_seconds) const {
  const auto s = status();
  return s.state == "following" && s.source_reachable && s.lag_events <= max_lag_events && s.lag_seconds <= max_lag_seconds;
}

}  // namespace banyan::sync
