#include "banyan/sync/sync_daemon.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/feed_follower.hpp"
#include "banyan/sync/feed_outbox.hpp"
#include "banyan/sync/feed_waiters.hpp"
#include "banyan/sync/map_sink.hpp"
#include "banyan/sync/pg_apply_store.hpp"
#include "banyan/sync/pg_capture.hpp"
#include "banyan/sync/sqlite_capture.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace banyan::sync {

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

std::string schema_diagnostics(const sync_config& config, const schema_report& report) {
  diagnostics d;
  for (const auto& p : report.problems) d.error(config.file, std::max(p.at.line, 1), std::max(p.at.column, 1), p.message);
  return d.to_string();
}

std::unique_ptr<change_capture> open_capture(const sync_config& config, std::size_t connections) {
  if (!config.postgres_url.empty()) {
    pg_capture_options o;
    o.conninfo = config.postgres_url;
    o.state_dir = config.state_dir;
    o.slot = config.slot;
    o.connections = connections;
    o.database_at = config.database_at;
    return std::make_unique<pg_capture>(o);
  }
  return std::make_unique<sqlite_capture>(config.sqlite_path, connections);
}

sync_status combine_statuses(const std::vector<sync_status>& each) {
  if (each.empty()) return {};
  sync_status out = each.front();
  std::string entities;
  for (const auto& s : each) {
    entities += (entities.empty() ? "" : ",") + s.entity;
    if (s.state == "stopped" && out.state != "stopped") {
      out.state = "stopped";
      out.why = s.entity + ": " + s.why;
    } else if (s.state == "backfilling" && out.state == "following") {
      out.state = "backfilling";
      out.backfill = s.backfill;
    }
    out.applied = std::min(out.applied, s.applied);
    out.head = std::max(out.head, s.head);
    out.lag_seconds = std::max(out.lag_seconds, s.lag_seconds);
    out.source_reachable = out.source_reachable && s.source_reachable;
    if (!s.source_reachable && out.why.empty()) out.why = s.why;
    if (&s != &each.front()) {
      out.events_applied += s.events_applied;
      // Each follower reads the whole feed and counts the other aggregates' events as ignored;
      // an event is ignored by all only when no aggregate took it: the minimum says that.
      out.events_ignored = std::min(out.events_ignored, s.events_ignored);
    }
    if (!s.last_ignored.empty()) out.last_ignored = s.entity + ": " + s.last_ignored;
  }
  out.entity = entities;
  out.lag_events = out.head - out.applied;
  return out;
}

namespace {

bool read_count(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

struct sync_daemon::impl {
  sync_config config;
  std::unique_ptr<change_capture> capture;  // when publishing
  std::vector<std::unique_ptr<map_sink>> sinks;
  std::vector<std::unique_ptr<feed_follower>> followers;

  // The keeper's wake-up, and the readers below.
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  bool stopping = false;
  std::thread keeper;
  std::unique_ptr<feed_waiters> waiters;  // long polls of the feed published
  // Where each follower of this feed has read up to (its `after`), by its name, and when.
  mutable std::map<std::string, std::pair<std::int64_t, clock_type::time_point>> readers;
  std::atomic<std::int64_t> foreign_seen{0};  // the handlers' fence changes and the keeper's log

  metrics::gauge *head_gauge = nullptr, *capture_intact = nullptr, *foreign_gauge = nullptr, *waiting_gauge = nullptr,
                *retained_wal = nullptr, *capture_connected = nullptr;
  std::string last_capture_warning;  // logged once until it changes
  metrics::counter* pruned = nullptr;

  // Every second: foreign writes, capture health, the head's gauge; every prune_interval: pruning.
  void keep() {
    auto last_prune = clock_type::now();
    std::unique_lock lock(mutex);
    while (!changed.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      lock.unlock();
      try {
        const bool prune_now = clock_type::now() - last_prune >= config.prune_interval;
        if (prune_now) last_prune = clock_type::now();
        maintain(prune_now);
      } catch (const std::exception& e) {
        log::warn("banyan-sync upkeep failed", {{"error", e.what()}});
      }
      lock.lock();
    }
  }

  // The capture's state: its head, whether it is intact and reading, and (PostgreSQL) the slot.
  json::object capture_json() const {
    const auto r = capture->report();
    json::object body{{"engine", r.engine}, {"head", capture->logged_head()}, {"connected", r.connected},
                      {"intact", capture->broken().empty()}};
    if (const auto why = capture->broken(); !why.empty()) body["why"] = why;
    if (!r.slot.empty()) body["slot"] = r.slot;
    if (!r.confirmed.empty()) body["confirmed"] = r.confirmed;
    if (r.retained_wal_bytes) body["retained_wal_bytes"] = *r.retained_wal_bytes;
    if (r.safe_wal_bytes) body["safe_wal_bytes"] = *r.safe_wal_bytes;
    if (!r.warning.empty()) body["warning"] = r.warning;
    return body;
  }

  void maintain(bool prune_now) {
    if (!capture) return;
    const auto why = capture->broken();
    capture_intact->set(why.empty() ? 1 : 0);
    head_gauge->set(static_cast<double>(capture->logged_head()));
    const auto rep = capture->report();
    capture_connected->set(rep.connected ? 1 : 0);
    if (rep.retained_wal_bytes) retained_wal->set(static_cast<double>(*rep.retained_wal_bytes));
    if (rep.warning != last_capture_warning) {
      if (!rep.warning.empty()) log::warn("capture: " + rep.warning, {{"slot", rep.slot}});
      last_capture_warning = rep.warning;
    }
    const auto f = capture->foreign();
    foreign_gauge->set(static_cast<double>(f.count));
    if (f.count > foreign_seen) {
      // Newest first: log those not logged yet, oldest of them first.
      const auto fresh = std::min<std::int64_t>(f.count - foreign_seen, static_cast<std::int64_t>(f.latest.size()));
      for (auto i = fresh; i-- > 0;) {
        const auto& e = f.latest[static_cast<std::size_t>(i)];
        log::warn("foreign write: a change to a table whose writes belong to another owner, not made by banyan-sync",
                  {{"event", e.id}, {"type", e.type}, {"key", e.key}, {"at", e.at}});
      }
      foreign_seen = f.count;
    }
    if (prune_now) {
      // Up to where every follower seen in the last ten minutes has read; never past the fence
      // (foreign writes stay listed until the fence comes down).
      std::int64_t upto = capture->logged_head();
      {
        std::lock_guard l(mutex);
        const auto recent = clock_type::now() - std::chrono::minutes(10);
        for (auto it = readers.begin(); it != readers.end();) {
          if (it->second.second < recent) it = readers.erase(it);
          else upto = std::min(upto, (it++)->second.first);
        }
        if (readers.empty()) upto = 0;  // nobody known to have read anything: keep up to the bound
      }
      const auto fence = capture->fence();
      if (fence.up) upto = std::min(upto, fence.since);
      if (const auto n = capture->prune(upto, config.retain_events); n > 0) pruned->inc(static_cast<double>(n));
    }
  }
};

sync_daemon::sync_daemon(sync_config config) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.config = std::move(config);
  auto& cfg = m.config;
  // The schema check, on the capture's connections (the applier uses its own).
  auto capture = open_capture(cfg, static_cast<std::size_t>(cfg.threads) + 2);
  const auto report = capture->check(cfg.map);
  if (!report.problems.empty()) throw schema_mismatch(schema_diagnostics(cfg, report));
  notes_ = report.notes;
  if (!cfg.follow.empty()) capture->prepare_apply();
  if (cfg.publish) {
    capture->install(cfg.map, cfg.refuse_foreign_writes);
    m.capture = std::move(capture);
    (void)m.capture->broken();  // the schema as installed: the baseline for the trigger check
  }
  m.head_gauge = &metrics_.get_gauge("banyan_sync_changelog_head", "Newest captured change (the feed's head)");
  m.capture_intact = &metrics_.get_gauge("banyan_sync_capture_intact", "1 while every mapped table's triggers are in place");
  m.foreign_gauge = &metrics_.get_gauge("banyan_sync_foreign_writes", "Changes to mapped tables since the fence went up, not made by banyan-sync");
  m.waiting_gauge = &metrics_.get_gauge("banyan_sync_long_polls_waiting", "Followers waiting for the next event");
  if (m.capture)
    // One HTTP thread is kept for everyone else: past that, a follower is answered at once and polls.
    m.waiters = std::make_unique<feed_waiters>([&m] { return m.capture->logged_head(); }, cfg.threads - 1,
                                               m.waiting_gauge);
  m.pruned = &metrics_.get_counter("banyan_sync_changelog_pruned_total", "Changelog rows removed once read");
  m.retained_wal = &metrics_.get_gauge("banyan_sync_slot_retained_wal_bytes",
                                       "WAL the PostgreSQL server keeps for banyan-sync's replication slot");
  m.capture_connected = &metrics_.get_gauge("banyan_sync_capture_connected", "1 while the capture reads the database's log");
  m.capture_intact->set(m.capture ? 1 : 0);

  if (!cfg.follow.empty()) {
    for (const auto& a : cfg.map.aggregates) {
      follower_options o;
      o.source_url = cfg.follow;
      o.page_limit = cfg.page_limit;
      o.long_poll = cfg.follow_wait;
      o.cursor_key = cfg.follow + "#" + a.name;
      o.name = cfg.database + "#" + a.name;
      o.storage = {"banyan_sync_cursor", false};
      o.open = app_database_options();
      if (!cfg.postgres_url.empty()) {
        m.followers.push_back(std::make_unique<feed_follower>(
            [url = cfg.postgres_url, a]() -> std::unique_ptr<apply_store> { return std::make_unique<pg_apply_store>(url, a); },
            a.name, o, &metrics_));
      } else {
        m.sinks.push_back(std::make_unique<map_sink>(a));
        m.followers.push_back(std::make_unique<feed_follower>(cfg.sqlite_path, *m.sinks.back(), o, &metrics_));
      }
    }
  }

  router_.add("GET", "/healthz", [](http::request&) { return http::json_response(200, json::object{{"status", "ok"}}); });
  router_.add("GET", "/readyz", [this](http::request&) {
    auto& d = *impl_;
    if (d.capture) {
      if (const auto why = d.capture->broken(); !why.empty())
        return http::error_response(503, "capture_broken", why);
    }
    if (!d.followers.empty()) {
      std::vector<sync_status> each;
      for (const auto& f : d.followers) each.push_back(f->status());
      const auto s = combine_statuses(each);
      if (s.state != "following" || !s.source_reachable)
        return http::error_response(503, "not_ready",
                                    s.state == "stopped"    ? "the sync stopped: " + s.why
                                    : s.state == "backfilling" ? "the backfill is not complete"
                                                               : "the source does not answer: " + s.why);
    }
    return http::json_response(200, json::object{{"status", "ready"}});
  });
  router_.add("GET", "/metrics", [this](http::request&) {
    for (const auto& f : impl_->followers) (void)f->status();  // refreshes the lag gauges
    http::response res;
    res.headers.set("Content-Type", "text/plain; version=0.0.4");
    res.body = metrics_.render();
    return res;
  });
  router_.add("GET", "/internal/sync", [this](http::request&) {
    auto& d = *impl_;
    if (d.followers.empty())
      return http::error_response(404, "no_sync", "this banyan-sync follows no feed (follow: in its configuration)");
    std::vector<sync_status> each;
    for (const auto& f : d.followers) each.push_back(f->status());
    auto status = combine_statuses(each);
    if (d.capture) status.foreign_writes = d.capture->foreign().count;
    auto body = to_json(status);
    if (d.capture) body["capture"] = d.capture_json();
    return http::json_response(200, std::move(body));
  });
  if (!m.capture) return;

  router_.add("GET", "/internal/events", [this](http::request& req) {
    auto& d = *impl_;
    auto q = read_events_query(req);
    if (!q) return std::move(q.error());
    const std::int64_t after = q->after;
    const int limit = q->limit;
    if (const auto why = d.capture->broken(); !why.empty()) return http::error_response(503, "capture_broken", why);
    if (q->committed) {
      // The barrier's question: a head that covers every change committed before it was asked.
      try {
        (void)d.capture->head();
      } catch (const std::exception& e) {
        return http::error_response(503, "capture_behind", e.what());
      }
    }
    if (const auto* ua = req.header("User-Agent"); ua && ua->rfind("banyan-sync", 0) == 0) {
      std::lock_guard lock(d.mutex);
      d.readers[*ua] = {after, clock_type::now()};
    }
    auto page = d.capture->events(after, limit);
    if (page && page->events.empty() && !page->pruned_through && d.waiters->wait_past(after, page->head, q->wait))
      page = d.capture->events(after, limit);
    if (!page) return http::error_response(503, "capture_unreadable", page.error());
    auto body = feed_page_json(page->events, after, page->head);
    if (page->pruned_through) body["pruned_through"] = *page->pruned_through;
    return http::json_response(200, std::move(body));
  });
  router_.add("GET", "/internal/snapshot/{aggregate}", [this](http::request& req) {
    auto& d = *impl_;
    const auto* a = d.config.map.find(req.param("aggregate"));
    if (!a) return http::error_response(404, "unknown_aggregate", "no aggregate '" + std::string(req.param("aggregate")) + "' in the map");
    std::int64_t limit = 100;
    if (auto l = req.query_param("limit"); l && (!read_count(*l, limit) || limit < 1 || limit > 1000))
      return http::error_response(400, "invalid_query", "limit must be an integer from 1 to 1000");
    const std::string after(req.query_param("after").value_or(""));
    auto page = d.capture->snapshot(*a, after, static_cast<int>(limit));
    if (!page) return http::error_response(400, "invalid_query", page.error());
    json::array items;
    for (const auto& r : page->rows) items.push_back(json::object{{"key", r.key}, {"payload", r.payload}});
    json::object body{{"items", std::move(items)}, {"next", page->next}, {"done", page->done}};
    if (page->total) body["total"] = *page->total;
    return http::json_response(200, std::move(body));
  });
  router_.add("GET", "/internal/capture",
              [this](http::request&) { return http::json_response(200, impl_->capture_json()); });
  router_.add("GET", "/internal/fence", [this](http::request&) {
    auto& d = *impl_;
    const auto f = d.capture->fence();
    const auto fw = d.capture->foreign();
    json::array latest;
    for (const auto& e : fw.latest) latest.push_back(to_json(e));
    return http::json_response(200, json::object{{"up", f.up}, {"since", f.since}, {"owner", f.owner}, {"refuse", f.refuse},
                                                 {"at", f.at}, {"foreign_writes", fw.count}, {"latest", std::move(latest)}});
  });
  // The proxy's barrier raises the fence on the old owner as writes leave it, at the feed head it
  // read with nothing in flight, and lowers it on the new owner.
  router_.add("PUT", "/internal/fence", [this](http::request& req) {
    auto& d = *impl_;
    auto body = http::parse_json_object(req);
    if (!body) return body.error();
    fence_state f;
    f.up = true;
    f.refuse = d.config.refuse_foreign_writes;
    const auto* since = body->if_contains("since");
    const auto* owner = body->if_contains("owner");
    if (!since || !since->is_int64() || since->as_int64() < 0)
      return http::error_response(422, "invalid_fence", "since must be the feed position (a non-negative integer)");
    if (!owner || !owner->is_string() || owner->as_string().empty())
      return http::error_response(422, "invalid_fence", "owner must name who owns the writes now");
    f.since = since->as_int64();
    f.owner = std::string(owner->as_string());
    f.at = now_rfc3339();
    d.capture->set_fence(f);
    d.foreign_seen = d.capture->foreign().count;
    log::info("fence up: changes to the mapped tables from now on are foreign writes",
              {{"owner", f.owner}, {"since", f.since}, {"refuse", f.refuse}});
    return http::json_response(200, json::object{{"up", true}, {"since", f.since}, {"owner", f.owner}, {"refuse", f.refuse}});
  });
  router_.add("DELETE", "/internal/fence", [this](http::request&) {
    // The fence as it was: the proxy's barrier puts it back if its switch does not happen.
    const auto was = impl_->capture->fence();
    impl_->capture->set_fence({});
    impl_->foreign_seen = 0;
    log::info("fence down: this database owns its writes again");
    return http::json_response(
        200, json::object{{"up", false},
                          {"was", json::object{{"up", was.up}, {"since", was.since}, {"owner", was.owner}}}});
  });
}

sync_daemon::~sync_daemon() { stop(); }

void sync_daemon::start() {
  auto& m = *impl_;
  for (auto& f : m.followers) f->start();
  if (m.capture) {
    m.capture->start();
    m.keeper = std::thread([this] { impl_->keep(); });
  }
}

void sync_daemon::stop() {
  auto& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    m.stopping = true;
  }
  m.changed.notify_all();
  if (m.waiters) m.waiters->stop();
  if (m.keeper.joinable()) m.keeper.join();
  for (auto& f : m.followers) f->stop();
  if (m.capture) m.capture->stop();
}

}  // namespace banyan::sync
