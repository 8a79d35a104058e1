#include "banyan/sync/saga_store.hpp"

#include "banyan/platform/clock.hpp"

namespace banyan::sync::saga {

namespace json = boost::json;

namespace {

constexpr const char* columns = "SELECT id, kind, step, status, started_ms, step_since_ms, deadline_ms, reason FROM banyan_sagas ";

state read(const sqlite::statement& st) {
  state s;
  s.id = st.get_text(0);
  s.kind = st.get_text(1);
  s.step = st.get_text(2);
  parse_status(st.get_text(3), s.at);
  s.started_ms = st.get_int64(4);
  s.step_since_ms = st.get_int64(5);
  s.deadline_ms = st.get_int64(6);
  s.reason = st.get_text(7);
  return s;
}

std::string iso(std::int64_t unix_ms) {
  return format_rfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

}  // namespace

void create_tables(sqlite::connection& c) {
  c.exec(
      "CREATE TABLE IF NOT EXISTS banyan_sagas ("
      " id TEXT PRIMARY KEY, kind TEXT NOT NULL, step TEXT NOT NULL,"
      " status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'compensated')),"
      " started_ms INTEGER NOT NULL, step_since_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL,"
      " reason TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX IF NOT EXISTS banyan_sagas_due ON banyan_sagas(status, deadline_ms);"
      "CREATE INDEX IF NOT EXISTS banyan_sagas_newest ON banyan_sagas(started_ms);"
      // Every answer once: its event id, the saga it answered and what it decided.
      "CREATE TABLE IF NOT EXISTS banyan_saga_answers ("
      " event_id TEXT PRIMARY KEY, saga_id TEXT NOT NULL, action TEXT NOT NULL, at_ms INTEGER NOT NULL);");
}

bool begin(sqlite::connection& c, const std::string& id, const std::string& kind, const std::string& step,
           std::int64_t now_ms, std::int64_t deadline_ms) {
  c.prepare(
       "INSERT INTO banyan_sagas(id, kind, step, status, started_ms, step_since_ms, deadline_ms) "
       "VALUES (?, ?, ?, 'running', ?, ?, ?) ON CONFLICT(id) DO NOTHING")
      .bind_all(id, kind, step, now_ms, now_ms, deadline_ms)
      .run();
  return c.changes() > 0;
}

std::optional<state> find(sqlite::connection& c, const std::string& id) {
  auto st = c.prepare(std::string(columns) + "WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

decision handle(sqlite::connection& c, const std::string& id, const input& in) {
  if (!in.event_id.empty()) {
    auto seen = c.prepare("SELECT action FROM banyan_saga_answers WHERE event_id = ?");
    seen.bind(1, in.event_id);
    if (seen.step()) return {decision::action::none, "event " + in.event_id + " was handled already"};
  }
  const auto s = find(c, id);
  if (!s) return {decision::action::none, "no saga " + id};
  const auto d = decide(*s, in);
  if (!in.event_id.empty())
    c.prepare("INSERT INTO banyan_saga_answers(event_id, saga_id, action, at_ms) VALUES (?, ?, ?, ?)")
        .bind_all(in.event_id, id, std::string(to_string(d.what)), in.at_ms)
        .run();
  switch (d.what) {
    case decision::action::complete:
    case decision::action::compensate:
      c.prepare("UPDATE banyan_sagas SET status = ?, step_since_ms = ?, reason = ? WHERE id = ?")
          .bind_all(std::string(to_string(d.what == decision::action::complete ? status::completed : status::compensated)),
                    in.at_ms, d.what == decision::action::compensate ? d.reason : std::string(), id)
          .run();
      break;
    case decision::action::late_answer:
      c.prepare("UPDATE banyan_sagas SET reason = ? WHERE id = ?").bind_all(d.reason, id).run();
      break;
    case decision::action::none: break;
  }
  return d;
}

bool abandon(sqlite::connection& c, const std::string& id, const std::string& reason, std::int64_t now_ms) {
  c.prepare("UPDATE banyan_sagas SET status = 'compensated', step_since_ms = ?, reason = ? WHERE id = ? AND status = 'running'")
      .bind_all(now_ms, reason, id)
      .run();
  return c.changes() > 0;
}

std::vector<state> due(sqlite::connection& c, std::int64_t now_ms, int limit) {
  auto st = c.prepare(std::string(columns) +
                      "WHERE status = 'running' AND deadline_ms > 0 AND deadline_ms <= ? ORDER BY deadline_ms LIMIT ?");
  st.bind_all(now_ms, std::int64_t{limit});
  std::vector<state> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

std::vector<state> list(sqlite::connection& c, const list_filter& f) {
  std::string sql = columns;
  if (f.stuck)
    sql += "WHERE status = 'running' AND ((deadline_ms > 0 AND deadline_ms <= ?1) OR started_ms <= ?1 - ?2) ";
  else if (f.only)
    sql += "WHERE status = ?3 ";
  sql += "ORDER BY started_ms DESC, id DESC LIMIT ?4";
  auto st = c.prepare(sql);
  if (f.stuck) st.bind_all(f.now_ms, f.stuck_after_ms);
  else if (f.only) st.bind(3, std::string(to_string(*f.only)));
  st.bind(4, std::int64_t{f.limit});
  std::vector<state> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

counts count(sqlite::connection& c, std::int64_t now_ms, std::int64_t stuck_after_ms) {
  counts n;
  auto st = c.prepare("SELECT status, count(*) FROM banyan_sagas GROUP BY status");
  while (st.step()) {
    const auto s = st.get_text(0);
    (s == "running" ? n.running : s == "completed" ? n.completed : n.compensated) = st.get_int64(1);
  }
  auto stuck = c.prepare(
      "SELECT count(*) FROM banyan_sagas WHERE status = 'running' AND ((deadline_ms > 0 AND deadline_ms <= ?1) "
      "OR started_ms <= ?1 - ?2)");
  stuck.bind_all(now_ms, stuck_after_ms);
  stuck.step();
  n.stuck = stuck.get_int64(0);
  return n;
}

json::object to_json(const state& s, std::int64_t now_ms) {
  json::object o{{"id", s.id},
                 {"kind", s.kind},
                 {"step", s.step},
                 {"status", to_string(s.at)},
                 {"started_at", iso(s.started_ms)},
                 {"since", iso(s.step_since_ms)},
                 {"reason", s.reason}};
  if (s.at == status::running) {
    o["waiting_ms"] = now_ms - s.step_since_ms;
    if (s.deadline_ms > 0) {
      o["deadline_at"] = iso(s.deadline_ms);
      o["overdue"] = now_ms >= s.deadline_ms;
    }
  }
  return o;
}

}  // namespace banyan::sync::saga
