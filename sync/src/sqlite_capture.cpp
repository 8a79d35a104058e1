#include "banyan/sync/sqlite_capture.hpp"

#include "banyan/platform/clock.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace banyan::sync {

namespace json = boost::json;

sqlite::open_options app_database_options() {
  sqlite::open_options o;
  o.wal = false;               // the app's journal mode stays the app's
  o.busy_timeout_ms = 10'000;  // wait for the app's writers; our own transactions are short
  return o;
}

namespace {

const char* const trigger_ops[] = {"insert", "update", "delete"};

std::string trigger_name(const std::string& table, const char* op) { return "banyan_sync_" + table + "_" + op; }
std::string refuse_trigger_name(const std::string& table, const char* op) {
  return "banyan_sync_" + table + "_refuse_" + op;
}

// json_object('c', NEW.c, …): a BLOB (which JSON cannot hold, and json_object would fail the app's
// own write on) goes as its hex text.
std::string image_sql(const std::vector<std::string>& cols, const std::string& row) {
  std::string s = "json_object(";
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const std::string v = row + "." + cols[i];
    s += (i ? ", '" : "'") + cols[i] + "', iif(typeof(" + v + ") = 'blob', hex(" + v + "), " + v + ")";
  }
  return s + ")";
}

std::string sql_list(const std::vector<std::string>& cols, const std::string& prefix = {}) {
  std::string s;
  for (std::size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + prefix + cols[i];
  return s;
}

struct column_info {
  std::string name, declared;
  int pk = 0;  // position in the primary key, 0 if not in it
  bool not_null = false;
};

std::vector<column_info> columns_of(sqlite::connection& c, const std::string& table) {
  std::vector<column_info> out;
  auto st = c.prepare("SELECT name, type, pk, \"notnull\" FROM pragma_table_info(?)");
  st.bind(1, table);
  while (st.step()) out.push_back({st.get_text(0), st.get_text(1), static_cast<int>(st.get_int64(2)), st.get_int64(3) != 0});
  return out;
}

// SQLite's affinity rules (https://sqlite.org/datatype3.html, 3.1), in order.
std::string affinity_of(std::string declared) {
  for (auto& ch : declared) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (declared.find("INT") != std::string::npos) return "INTEGER";
  if (declared.find("CHAR") != std::string::npos || declared.find("CLOB") != std::string::npos ||
      declared.find("TEXT") != std::string::npos)
    return "TEXT";
  if (declared.empty() || declared.find("BLOB") != std::string::npos) return "BLOB";
  if (declared.find("REAL") != std::string::npos || declared.find("FLOA") != std::string::npos ||
      declared.find("DOUB") != std::string::npos)
    return "REAL";
  return "NUMERIC";
}

// Whether a column of this affinity holds the field's type without changing its values.
bool holds(const std::string& affinity, field_type t) {
  switch (t) {
    case field_type::integer:
    case field_type::boolean:
      return affinity == "INTEGER" || affinity == "NUMERIC" || affinity == "BLOB";
    case field_type::real:
      return affinity == "REAL" || affinity == "NUMERIC" || affinity == "BLOB";
    case field_type::text:
    case field_type::json:
    case field_type::timestamp:
      return affinity == "TEXT" || affinity == "BLOB";
    case field_type::automatic:
      return true;
  }
  return false;
}

field_type type_of_affinity(const std::string& affinity) {
  if (affinity == "INTEGER") return field_type::integer;
  if (affinity == "REAL") return field_type::real;
  if (affinity == "TEXT") return field_type::text;
  return field_type::automatic;  // NUMERIC, or no declared type: values go as they are stored
}

// Whether `cols` are exactly the columns of the primary key or of a unique index (what an upsert's
// ON CONFLICT needs, and what makes a row's key its identity).
bool is_unique_key(sqlite::connection& c, const std::string& table, const std::vector<column_info>& info,
                   const std::vector<std::string>& cols) {
  const std::set<std::string> want(cols.begin(), cols.end());
  std::set<std::string> pk;
  for (const auto& ci : info)
    if (ci.pk) pk.insert(ci.name);
  // An INTEGER PRIMARY KEY is the rowid; a table without one declared still has a hidden rowid,
  // which is not a key anyone maps.
  if (!pk.empty() && pk == want) return true;
  auto idx = c.prepare("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND partial = 0");
  idx.bind(1, table);
  std::vector<std::string> names;
  while (idx.step()) names.push_back(idx.get_text(0));
  for (const auto& n : names) {
    auto cols_st = c.prepare("SELECT name FROM pragma_index_info(?)");
    cols_st.bind(1, n);
    std::set<std::string> got;
    while (cols_st.step()) got.insert(cols_st.get_text(0));
    if (got == want) return true;
  }
  return false;
}

void bind_json(sqlite::statement& st, int i, const json::value& v) {
  if (v.is_int64()) st.bind(i, v.as_int64());
  else if (v.is_uint64()) st.bind(i, static_cast<std::int64_t>(v.as_uint64()));
  else if (v.is_double()) st.bind(i, v.as_double());
  else if (v.is_string()) st.bind(i, std::string_view(v.as_string()));
  else if (v.is_null()) st.bind(i, nullptr);
  else st.bind(i, json::serialize(v));
}

// The triggers banyan-sync has in the database now.
std::set<std::string> banyan_triggers(sqlite::connection& c) {
  std::set<std::string> out;
  auto st = c.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'banyan\\_sync\\_%' ESCAPE '\\'");
  while (st.step()) out.insert(st.get_text(0));
  return out;
}

std::string trigger_gone(const std::string& table, const char* op) {
  return "the capture trigger " + trigger_name(table, op) + " is gone (was " + table +
         " recreated by a migration?): its changes since are not in the feed. Stop the followers, run banyan-sync "
         "uninstall, start banyan-sync again and copy the followers again";
}

bool table_exists(sqlite::connection& c, std::string_view name) {
  auto st = c.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  st.bind(1, name);
  return st.step();
}

}  // namespace

sqlite_capture::sqlite_capture(std::string path, std::size_t connections)
    : path_(std::move(path)),
      pool_((std::filesystem::exists(path_) ? path_
                                            : throw std::runtime_error("no database at " + path_ +
                                                                       " (banyan-sync attaches to an existing one)")),
            connections, app_database_options()) {}

void sqlite_capture::use_map(const data_map& map) {
  map_ = map;
  changelog_.use_map(map);
}

schema_report sqlite_capture::check(data_map& map) {
  schema_report report;
  auto c = pool_.acquire();
  {
    auto st = c->prepare("PRAGMA journal_mode");
    if (st.step() && st.get_text(0) != "wal")
      report.notes.push_back("the database's journal mode is " + st.get_text(0) +
                             ": WAL lets banyan-sync read while the app writes (PRAGMA journal_mode=WAL, once)");
  }
  // Tables captured before (by an earlier run) whose triggers are gone: starting would be refused.
  std::set<std::string> captured;
  if (table_exists(*c, "banyan_sync_captured")) {
    auto st = c->prepare("SELECT tbl FROM banyan_sync_captured");
    while (st.step()) captured.insert(st.get_text(0));
  }
  const auto present = banyan_triggers(*c);
  for (auto& a : map.aggregates) {
    if (!table_exists(*c, a.table)) {
      report.problems.push_back({a.table_at, "table " + a.table + " does not exist in " + path_});
      continue;
    }
    if (captured.count(a.table))
      for (const char* op : trigger_ops)
        if (!present.count(trigger_name(a.table, op))) {
          report.problems.push_back({a.table_at, trigger_gone(a.table, op)});
          break;
        }
    const auto info = columns_of(*c, a.table);
    bool has_pk = std::any_of(info.begin(), info.end(), [](const column_info& ci) { return ci.pk > 0; });
    if (!has_pk)
      report.problems.push_back({a.table_at, "table " + a.table +
                                                 " has no primary key: rows without an identity cannot be followed "
                                                 "(give it one, or map a table that has one)"});
    auto find = [&](const std::string& col) -> const column_info* {
      for (const auto& ci : info)
        if (ci.name == col) return &ci;
      return nullptr;
    };
    bool columns_ok = true;
    for (auto& f : a.fields) {
      const auto* ci = find(f.column);
      if (!ci) {
        columns_ok = false;
        std::string names;
        for (const auto& x : info) names += (names.empty() ? "" : ", ") + x.name;
        report.problems.push_back({f.at, "table " + a.table + " has no column " + f.column + " (it has " + names + ")"});
        continue;
      }
      const auto affinity = affinity_of(ci->declared);
      if (f.type == field_type::automatic) {
        f.type = type_of_affinity(affinity);
        if (affinity == "BLOB" && !ci->declared.empty())
          report.problems.push_back({f.at, "column " + a.table + "." + f.column + " is " + ci->declared +
                                               ": binary values cannot travel in a JSON feed"});
      } else if (!holds(affinity, f.type)) {
        report.problems.push_back({f.at, "column " + a.table + "." + f.column + " is " +
                                             (ci->declared.empty() ? std::string("untyped") : ci->declared) +
                                             ", which cannot hold " + std::string(to_string(f.type)) + " values"});
      }
    }
    if (has_pk && columns_ok && !is_unique_key(*c, a.table, info, a.key))
      report.problems.push_back({a.key_at, "key (" + sql_list(a.key) + ") is neither the primary key of " + a.table +
                                               " nor a unique index on it"});
    report.installs.push_back("triggers " + trigger_name(a.table, "insert") + ", _update, _delete on " + a.table +
                              " (capture " + std::to_string(image_columns(a).size()) + " columns)");
  }
  report.installs.push_back(std::string("tables ") + std::string(changelog_table) + ", " + std::string(applying_table) +
                            ", " + std::string(fence_table) + ", banyan_sync_captured, banyan_sync_cursor");
  return report;
}

void sqlite_capture::install(const data_map& map, bool refuse_foreign_writes) {
  use_map(map);  // what events are read with from now on
  auto c = pool_.acquire();
  sqlite::transaction tx(*c);
  sqlite_changelog::create(*c);
  c->exec(
      "CREATE TABLE IF NOT EXISTS banyan_sync_applying (marker INTEGER);"
      "CREATE TABLE IF NOT EXISTS banyan_sync_fence (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL,"
      " owner TEXT NOT NULL, refuse INTEGER NOT NULL, at TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS banyan_sync_captured (tbl TEXT PRIMARY KEY, since TEXT NOT NULL);");
  // A table captured before whose triggers are gone lost changes while nobody watched (a migration
  // recreated it while banyan-sync was stopped): installing again would carry on as if nothing
  // had been missed. Refused with the way back; a table newly mapped starts its capture here.
  {
    const auto present = banyan_triggers(*c);
    auto captured = c->prepare("SELECT tbl FROM banyan_sync_captured");
    while (captured.step()) {
      const auto table = captured.get_text(0);
      if (!map.by_table(table)) continue;
      for (const char* op : trigger_ops)
        if (!present.count(trigger_name(table, op))) throw std::runtime_error(trigger_gone(table, op));
    }
  }
  // A row id taken by the changelog is never reused, even once pruned: sqlite_sequence keeps it.
  // Dropping triggers of tables no longer mapped, and re-creating the mapped ones from this map,
  // in this one transaction: capture never has a gap between an old and a new definition.
  for (const auto& name : banyan_triggers(*c)) c->exec("DROP TRIGGER IF EXISTS " + name);
  const std::string not_applying = "NOT EXISTS (SELECT 1 FROM banyan_sync_applying)";
  for (const auto& a : map.aggregates) {
    const auto cols = image_columns(a);
    std::string key_changed;
    for (std::size_t i = 0; i < a.key.size(); ++i)
      key_changed += (i ? " OR " : "") + std::string("OLD.") + a.key[i] + " IS NOT NEW." + a.key[i];
    const std::string log = "INSERT INTO banyan_sync_changelog(tbl, op, row) ";
    c->exec("CREATE TRIGGER " + trigger_name(a.table, "insert") + " AFTER INSERT ON " + a.table + " WHEN " +
            not_applying + " BEGIN " + log + "VALUES ('" + a.table + "', 'created', " + image_sql(cols, "NEW") +
            "); END");
    // A key that changes is the old row gone and a new one made: followers key rows by it.
    c->exec("CREATE TRIGGER " + trigger_name(a.table, "update") + " AFTER UPDATE OF " + sql_list(cols) + " ON " +
            a.table + " WHEN " + not_applying + " BEGIN " + log + "SELECT '" + a.table + "', 'deleted', " +
            image_sql(cols, "OLD") + " WHERE " + key_changed + "; " + log + "VALUES ('" + a.table + "', 'updated', " +
            image_sql(cols, "NEW") + "); END");
    c->exec("CREATE TRIGGER " + trigger_name(a.table, "delete") + " AFTER DELETE ON " + a.table + " WHEN " +
            not_applying + " BEGIN " + log + "VALUES ('" + a.table + "', 'deleted', " + image_sql(cols, "OLD") +
            "); END");
    c->prepare("INSERT INTO banyan_sync_captured(tbl, since) VALUES (?, ?) ON CONFLICT(tbl) DO NOTHING")
        .bind_all(a.table, now_rfc3339())
        .run();
    if (refuse_foreign_writes) {
      // Vitess' denied tables: once the fence is up and refusing, the database itself says no to
      // a write the applier did not make (RAISE's text must be a literal).
      const std::string when = " WHEN " + not_applying + " AND EXISTS (SELECT 1 FROM banyan_sync_fence WHERE refuse = 1)";
      const std::string raise = " BEGIN SELECT RAISE(ABORT, 'banyan-sync: the writes of " + a.table +
                                " belong to another owner now (foreign_writes: refuse)'); END";
      for (const char* op : trigger_ops)
        c->exec("CREATE TRIGGER " + refuse_trigger_name(a.table, op) + " BEFORE " +
                (std::string(op) == "insert" ? "INSERT" : std::string(op) == "update" ? "UPDATE" : "DELETE") +
                " ON " + a.table + when + raise);
    }
  }
  tx.commit();
  std::lock_guard lock(health_mutex_);
  checked_schema_version_ = -1;
  broken_.clear();
}

void sqlite_capture::prepare_apply() {
  auto c = pool_.acquire();
  c->exec("CREATE TABLE IF NOT EXISTS banyan_sync_applying (marker INTEGER)");
}

std::vector<std::string> sqlite_capture::uninstall() {
  std::vector<std::string> removed;
  auto c = pool_.acquire();
  sqlite::transaction tx(*c);
  std::vector<std::pair<std::string, std::string>> objects;
  {
    auto st = c->prepare(
        "SELECT type, name FROM sqlite_master WHERE name LIKE 'banyan\\_sync\\_%' ESCAPE '\\' AND type IN ('trigger', 'table')"
        " ORDER BY type = 'table'");
    while (st.step()) objects.emplace_back(st.get_text(0), st.get_text(1));
  }
  for (const auto& [type, name] : objects) {
    c->exec((type == "trigger" ? "DROP TRIGGER IF EXISTS " : "DROP TABLE IF EXISTS ") + name);
    removed.push_back(type + " " + name);
  }
  if (table_exists(*c, "sqlite_sequence")) c->exec("DELETE FROM sqlite_sequence WHERE name = 'banyan_sync_changelog'");
  tx.commit();
  return removed;
}

std::string sqlite_capture::broken() {
  auto c = pool_.acquire();
  std::int64_t version = 0;
  {
    auto st = c->prepare("PRAGMA schema_version");
    if (st.step()) version = st.get_int64(0);
  }
  std::lock_guard lock(health_mutex_);
  if (version == checked_schema_version_) return broken_;
  // The schema changed (a migration ran): every mapped table must still carry its three triggers.
  const auto present = banyan_triggers(*c);
  std::string why;
  for (const auto& a : map_.aggregates)
    for (const char* op : trigger_ops)
      if (!present.count(trigger_name(a.table, op)) && why.empty()) why = trigger_gone(a.table, op);
  // Once broken, it stays broken until installed again: a trigger put back by hand does not bring
  // back the changes made while it was missing.
  if (broken_.empty()) broken_ = why;
  checked_schema_version_ = version;
  return broken_;
}

expected<feed_page, std::string> sqlite_capture::events(std::int64_t after, int limit) {
  return changelog_.events(after, limit);
}

std::int64_t sqlite_capture::head() { return changelog_.head(); }

expected<snapshot_page, std::string> sqlite_capture::snapshot(const aggregate_map& a, std::string_view after, int limit) {
  auto c = pool_.acquire();
  const auto cols = image_columns(a);
  std::string sql = "SELECT " + image_sql(cols, a.table) + ", json_array(" + sql_list(a.key, a.table + ".") + ") FROM " + a.table;
  json::array cursor;
  if (!after.empty()) {
    boost::system::error_code ec;
    auto parsed = json::parse(after, ec);
    if (ec || !parsed.is_array() || parsed.as_array().size() != a.key.size())
      return unexpected("after must be a cursor this snapshot gave (a JSON array of " + std::to_string(a.key.size()) +
                        " key values)");
    cursor = parsed.as_array();
    std::string marks;
    for (std::size_t i = 0; i < a.key.size(); ++i) marks += i ? ", ?" : "?";
    sql += " WHERE (" + sql_list(a.key) + ") > (" + marks + ")";
  }
  sql += " ORDER BY " + sql_list(a.key) + " LIMIT ?";
  snapshot_page page;
  sqlite::transaction tx(*c, sqlite::transaction::mode::deferred);
  auto st = c->prepare_cached(sql);
  int i = 0;
  for (const auto& v : cursor) bind_json(*st, ++i, v);
  st->bind(++i, limit);
  std::string last;
  while (st->step()) {
    const auto image = json::parse(st->get_text(0));
    auto key = key_of_row(a, image.as_object());
    auto payload = payload_of_row(a, image.as_object());
    if (!key) return unexpected(key.error());
    if (!payload) return unexpected(payload.error());
    page.rows.push_back({std::move(*key), std::move(*payload)});
    last = st->get_text(1);
  }
  page.done = page.rows.size() < static_cast<std::size_t>(limit);
  page.next = page.rows.empty() ? std::string(after) : last;
  if (after.empty()) {
    auto count = c->prepare("SELECT count(*) FROM " + a.table);
    if (count.step()) page.total = count.get_int64(0);
  }
  tx.commit();
  return page;
}

std::int64_t sqlite_capture::prune(std::int64_t upto, std::int64_t keep) { return changelog_.prune(upto, keep); }

fence_state sqlite_capture::fence() {
  auto c = pool_.acquire();
  fence_state f;
  auto st = c->prepare("SELECT since, owner, refuse, at FROM banyan_sync_fence WHERE id = 1");
  if (st.step()) {
    f.up = true;
    f.since = st.get_int64(0);
    f.owner = st.get_text(1);
    f.refuse = st.get_int64(2) != 0;
    f.at = st.get_text(3);
  }
  return f;
}

void sqlite_capture::set_fence(const fence_state& f) {
  auto c = pool_.acquire();
  sqlite::transaction tx(*c);
  c->exec("DELETE FROM banyan_sync_fence");
  if (f.up) {
    auto st = c->prepare("INSERT INTO banyan_sync_fence(id, since, owner, refuse, at) VALUES (1, ?, ?, ?, ?)");
    st.bind_all(f.since, f.owner, std::int64_t{f.refuse ? 1 : 0}, f.at.empty() ? now_rfc3339() : f.at);
    st.run();
  }
  tx.commit();
}

change_capture::foreign_writes sqlite_capture::foreign() {
  const auto f = fence();
  if (!f.up) return {};
  return changelog_.after(f.since);
}

}  // namespace banyan::sync
