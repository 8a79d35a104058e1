#include "banyan/proxy/state_store.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/proxy/route_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <filesystem>

namespace banyan::proxy {

using banyan::sqlite::open_options;

namespace {
const std::array<banyan::sqlite::migration, 4> migrations{{
    {1, "routing and audit",
     "CREATE TABLE proxy_routing (id INTEGER PRIMARY KEY CHECK (id = 1), routes TEXT NOT NULL,"
     " services TEXT NOT NULL, saved_at TEXT NOT NULL);"
     "CREATE TABLE proxy_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
     " operator TEXT NOT NULL, token_id TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
     " before TEXT NOT NULL, after TEXT NOT NULL, reason TEXT NOT NULL);"},
    {2, "plan progress",
     "CREATE TABLE proxy_plan (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, document TEXT NOT NULL,"
     " stage TEXT NOT NULL, applied_at TEXT NOT NULL, stage_entered_at TEXT NOT NULL);"},
    {3, "plan completion", "ALTER TABLE proxy_plan ADD COLUMN completed_at TEXT NOT NULL DEFAULT ''"},
    {4, "write probe", "CREATE TABLE proxy_write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)"},
}};

std::string make_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

sqlite_state_store::sqlite_state_store(const std::string& dir)
    : dir_(make_dir(dir)), db_((std::filesystem::path(dir) / "banyan.db").string()) {
  banyan::sqlite::migrate(db_, "proxy", migrations);
}

std::optional<stored_routing> sqlite_state_store::load() {
  std::lock_guard lock(mutex_);
  auto st = db_.prepare("SELECT routes, services FROM proxy_routing WHERE id = 1");
  if (!st.step()) return std::nullopt;
  stored_routing out;
  const auto routes = boost::json::parse(st.get_text(0));
  for (const auto& v : routes.as_array()) {
    route r;
    std::vector<std::string> problems;
    if (route_from_json(v, r, problems)) out.routes.push_back(std::move(r));
  }
  const auto services = boost::json::parse(st.get_text(1));  // named: the loop must not outlive it
  for (const auto& kv : services.as_object()) out.services[std::string(kv.key())] = std::string(kv.value().as_string());
  return out;
}

std::optional<plan_progress> sqlite_state_store::plan() {
  std::lock_guard lock(mutex_);
  auto st = db_.prepare(
      "SELECT name, document, stage, applied_at, stage_entered_at, completed_at FROM proxy_plan WHERE id = 1");
  if (!st.step()) return std::nullopt;
  return plan_progress{st.get_text(0), st.get_text(1), st.get_text(2), st.get_text(3), st.get_text(4), st.get_text(5)};
}

namespace {
void insert_audit(banyan::sqlite::connection& db, const std::string& now, const audit_entry& entry) {
  db.prepare(
        "INSERT INTO proxy_audit(at, operator, token_id, action, target, before, after, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(now, entry.operator_name, entry.token_id, entry.action, entry.target, entry.before, entry.after,
                entry.reason)
      .run();
}
}  // namespace

template <class F>
auto sqlite_state_store::writing(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    last_write_error_ = e.what();
    throw;
  }
}

std::int64_t sqlite_state_store::save(const stored_routing& routing, audit_entry entry, const plan_progress* progress,
                                      std::int64_t) {
  boost::json::array routes;
  for (const auto& r : routing.routes) routes.push_back(route_to_json(r));
  boost::json::object services;
  for (const auto& [name, url] : routing.services) services[name] = url;
  const std::string now = banyan::now_rfc3339();
  std::lock_guard lock(mutex_);
  writing([&] {
    banyan::sqlite::transaction tx(db_);
    db_.prepare(
           "INSERT INTO proxy_routing(id, routes, services, saved_at) VALUES (1, ?1, ?2, ?3)"
           " ON CONFLICT(id) DO UPDATE SET routes = ?1, services = ?2, saved_at = ?3")
        .bind_all(boost::json::serialize(routes), boost::json::serialize(services), now)
        .run();
    insert_audit(db_, now, entry);
    if (progress)
      db_.prepare(
             "INSERT INTO proxy_plan(id, name, document, stage, applied_at, stage_entered_at)"
             " VALUES (1, ?1, ?2, ?3, ?4, ?4) ON CONFLICT(id) DO UPDATE SET name = ?1, document = ?2, stage = ?3,"
             " applied_at = CASE WHEN name = ?1 AND document = ?2 THEN applied_at ELSE ?4 END,"
             " stage_entered_at = CASE WHEN stage = ?3 AND name = ?1 THEN stage_entered_at ELSE ?4 END,"
             " completed_at = CASE WHEN stage = ?3 AND name = ?1 AND document = ?2 THEN completed_at ELSE '' END")
          .bind_all(progress->name, progress->document, progress->stage, now)
          .run();
    tx.commit();
    last_write_error_.clear();
  });
  return 0;
}

bool sqlite_state_store::complete_plan(audit_entry entry) {
  const std::string now = banyan::now_rfc3339();
  std::lock_guard lock(mutex_);
  return writing([&] {
    banyan::sqlite::transaction tx(db_);
    db_.prepare("UPDATE proxy_plan SET completed_at = ? WHERE id = 1 AND completed_at = ''").bind_all(now).run();
    if (db_.changes() == 0) return false;
    insert_audit(db_, now, entry);
    tx.commit();
    last_write_error_.clear();
    return true;
  });
}

void sqlite_state_store::record(audit_entry entry) {
  const std::string now = banyan::now_rfc3339();
  std::lock_guard lock(mutex_);
  writing([&] {
    insert_audit(db_, now, entry);
    last_write_error_.clear();
  });
}

bool sqlite_state_store::writable(std::string& why) {
  std::error_code ec;
  const auto space = std::filesystem::space(dir_, ec);
  if (!ec && space.available < min_free_bytes) {
    why = "the state directory's filesystem is full: " + std::to_string(space.available / 1024) + " KiB free, " +
          std::to_string(min_free_bytes / 1024) + " KiB needed";
    return false;
  }
  std::lock_guard lock(mutex_);
  db_.set_busy_timeout(200);  // a probe answers quickly; saves keep the patient default
  bool ok = true;
  try {
    if (last_write_error_.empty()) {
      db_.exec("BEGIN IMMEDIATE");
      db_.exec("ROLLBACK");
    } else {
      // A write failed (a full disk fails writes, not the lock): only a write that lands says
      // the store is back. One row, overwritten.
      banyan::sqlite::transaction tx(db_);
      db_.prepare("INSERT INTO proxy_write_probe(id, at) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET at = ?1")
          .bind_all(unix_ms())
          .run();
      tx.commit();
      last_write_error_.clear();
    }
  } catch (const std::exception& e) {
    why = last_write_error_.empty()
              ? e.what()
              : "the last write failed (" + last_write_error_ + "), and so does a probe: " + e.what();
    ok = false;
  }
  db_.set_busy_timeout(open_options{}.busy_timeout_ms);
  return ok;
}

std::vector<audit_entry> sqlite_state_store::audit(std::int64_t after, int limit) {
  std::lock_guard lock(mutex_);
  auto st = db_.prepare(
      "SELECT id, at, operator, token_id, action, target, before, after, reason FROM proxy_audit"
      " WHERE id > ? ORDER BY id LIMIT ?");
  st.bind_all(after, limit);
  std::vector<audit_entry> out;
  while (st.step())
    out.push_back({st.get_int64(0), st.get_text(1), st.get_text(2), st.get_text(3), st.get_text(4), st.get_text(5),
                   st.get_text(6), st.get_text(7), st.get_text(8)});
  return out;
}

}  // namespace banyan::proxy
