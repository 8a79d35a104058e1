#include "banyan/sync/pg_capture.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/pg_image.hpp"
#include "pg_stream.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <set>

namespace banyan::sync {

namespace json = boost::json;

namespace {

// A WAL position just past a page's header (the next record starts there) as the page's start: no
// record ends inside a header, so the decoder, reporting where the last record it read ended,
// stops at the page boundary and would never reach the later position while nothing more is
// written: a quiet server would answer every head() with 503.
pgoutput::lsn reachable_position(pgoutput::lsn lsn) {
  constexpr pgoutput::lsn page = 8192, long_header = 40;  // XLOG_BLCKSZ; XLogLongPageHeaderData
  return lsn % page <= long_header ? lsn - lsn % page : lsn;
}

// How long a head() waits for the decoder to pass the server's position before answering 503.
constexpr auto head_wait = std::chrono::seconds(5);

std::vector<std::pair<std::string, std::string>> session() { return {{"options", std::string(pg_session_options)}}; }

struct table_info {
  bool exists = false;
  char replica_identity = 'd';
  std::vector<std::pair<std::string, std::string>> columns;  // name, type as format_type gives it
  std::vector<std::string> primary_key;
  std::vector<std::set<std::string>> unique_keys;  // the primary key's and every plain unique index's columns
};

table_info describe_table(pg::connection& c, const std::string& table) {
  table_info t;
  auto cls = c.exec("SELECT c.oid, c.relreplident FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
                    {table});
  if (cls.rows() == 0) return t;
  t.exists = true;
  const std::string oid(cls.text(0, 0));
  t.replica_identity = cls.text(0, 1).empty() ? 'd' : cls.text(0, 1)[0];
  auto cols = c.exec(
      "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0"
      " AND NOT attisdropped ORDER BY attnum",
      {oid});
  for (int i = 0; i < cols.rows(); ++i) t.columns.emplace_back(cols.text(i, 0), cols.text(i, 1));
  // Each plain unique index (no predicate, no expression) with its columns in order.
  auto idx = c.exec(
      "SELECT i.indisprimary, array_to_string(array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)"
      " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), ',') FROM pg_index i"
      " WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL",
      {oid});
  for (int i = 0; i < idx.rows(); ++i) {
    std::set<std::string> cols_of_index;
    std::vector<std::string> ordered;
    std::string list(idx.text(i, 1));
    std::size_t start = 0;
    while (start <= list.size()) {
      const auto comma = list.find(',', start);
      const auto name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!name.empty()) {
        cols_of_index.insert(name);
        ordered.push_back(name);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (idx.text(i, 0) == "t") t.primary_key = ordered;
    t.unique_keys.push_back(std::move(cols_of_index));
  }
  return t;
}

}  // namespace

struct pg_capture::impl {
  pg_capture_options opt;
  pg::pool pool;
  data_map map;
  std::string log_path;
  std::unique_ptr<sqlite::pool> log_pool;  // the changelog, once installed
  std::unique_ptr<sqlite_changelog> changelog;
  std::unique_ptr<pg_stream> stream;

  explicit impl(pg_capture_options o)
      : opt(std::move(o)), pool(opt.conninfo, session()), log_path(opt.state_dir + "/changelog.db") {}

  // The server's WAL write position now: every transaction committed before this call ends at or
  // before it (a commit is written, and with synchronous_commit on flushed, before it returns).
  pgoutput::lsn insert_position() {
    for (int attempt = 0;; ++attempt) {
      auto c = pool.acquire();
      try {
        auto r = c->exec("SELECT pg_current_wal_lsn()");
        const auto lsn = pg::parse_lsn(r.text(0, 0));
        if (!lsn) throw std::runtime_error("PostgreSQL gave an LSN that does not read as one: " + std::string(r.text(0, 0)));
        return reachable_position(*lsn);
      } catch (const pg::error&) {
        // The server restarted since this connection was last used: once more, on a new one.
        if (c->ok() || attempt > 0) throw;
      }
    }
  }

  // Waits until the changelog holds every change committed before now; empty, or why not.
  std::string logged_up_to_now() {
    if (!stream) return "capture is not running";
    pgoutput::lsn target = 0;
    try {
      target = insert_position();
    } catch (const std::exception& e) {
      return std::string("PostgreSQL does not answer: ") + e.what();
    }
    std::string why;
    if (!stream->wait_logged_past(target, head_wait, why)) return why;
    return {};
  }

  void open_log() {
    if (changelog) return;
    std::filesystem::create_directories(opt.state_dir);
    log_pool = std::make_unique<sqlite::pool>(log_path, opt.connections);
    changelog = std::make_unique<sqlite_changelog>(*log_pool);
    changelog->use_map(map);
  }
};

pg_capture::pg_capture(pg_capture_options options) : impl_(std::make_unique<impl>(std::move(options))) {
  // Connects at once, so that a wrong URL or a server that is not there is said where the database
  // is configured, before anything else.
  auto c = impl_->pool.acquire();
  if (impl_->opt.slot.empty()) {
    // Slot names are the server's, not the database's: two databases of one server (the monolith's
    // and the service's) need two. banyan_sync_DATABASE, in the letters a slot name may have.
    std::string slot = "banyan_sync_";
    const auto db = c->exec("SELECT current_database()");  // kept: text() views into it
    for (char ch : db.text(0, 0))
      slot += (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : '_';
    impl_->opt.slot = slot.substr(0, 63);
  }
}

pg_capture::~pg_capture() { stop(); }

schema_report pg_capture::check(data_map& map) {
  schema_report report;
  auto& m = *impl_;
  auto c = m.pool.acquire();
  const auto at = m.opt.database_at;
  auto setting = [&](const char* name) { return std::string(c->exec(std::string("SHOW ") + name).text(0, 0)); };
  if (const auto level = setting("wal_level"); level != "logical")
    report.problems.push_back({at, "the server's wal_level is " + level +
                                       ": logical decoding needs wal_level = logical (ALTER SYSTEM SET wal_level = "
                                       "logical, then restart PostgreSQL)"});
  {
    auto r = c->exec("SELECT rolname, rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user");
    if (r.rows() == 1 && r.text(0, 1) != "t")
      report.problems.push_back({at, "the user " + std::string(r.text(0, 0)) +
                                         " may not read a replication slot (ALTER ROLE " + std::string(r.text(0, 0)) +
                                         " REPLICATION)"});
  }
  {
    auto r = c->exec(
        "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status FROM pg_replication_slots"
        " WHERE slot_name = $1",
        {m.opt.slot});
    if (r.rows() == 1)
      report.notes.push_back("the slot " + m.opt.slot + " exists (" + (r.text(0, 0) == "t" ? "in use" : "not in use") +
                             ") and holds " + (r.is_null(0, 1) ? std::string("no") : std::string(r.text(0, 1))) +
                             " bytes of WAL (" + std::string(r.text(0, 2)) + ")");
    if (setting("max_slot_wal_keep_size") == "-1")
      report.notes.push_back("max_slot_wal_keep_size is unlimited: while banyan-sync is stopped its slot keeps WAL on the "
                             "server's disk (GET /internal/capture shows how much once it runs)");
  }
  for (auto& a : map.aggregates) {
    const auto t = describe_table(*c, a.table);
    if (!t.exists) {
      report.problems.push_back({a.table_at, "table " + a.table + " does not exist in the database"});
      continue;
    }
    if (t.primary_key.empty())
      report.problems.push_back({a.table_at, "table " + a.table +
                                                 " has no primary key: rows without an identity cannot be followed, "
                                                 "nor their deletes published (give it one, or map a table that has one)"});
    bool columns_ok = true;
    for (auto& f : a.fields) {
      const std::pair<std::string, std::string>* col = nullptr;
      for (const auto& ci : t.columns)
        if (ci.first == f.column) col = &ci;
      if (!col) {
        columns_ok = false;
        std::vector<std::string> names;
        for (const auto& ci : t.columns) names.push_back(ci.first);
        report.problems.push_back({f.at, "table " + a.table + " has no column " + f.column + " (it has " + pg::join(names) + ")"});
        continue;
      }
      const auto resolved = pg_field_type(col->second);
      if (!resolved) {
        report.problems.push_back({f.at, "column " + a.table + "." + f.column + " is " + col->second +
                                             ": binary values cannot travel in a JSON feed"});
      } else if (f.type == field_type::automatic) {
        f.type = *resolved;
      } else if (!pg_holds(col->second, f.type)) {
        report.problems.push_back({f.at, "column " + a.table + "." + f.column + " is " + col->second +
                                             ", which cannot hold " + std::string(to_string(f.type)) + " values"});
      }
    }
    const std::set<std::string> want(a.key.begin(), a.key.end());
    if (!t.primary_key.empty() && columns_ok &&
        std::find(t.unique_keys.begin(), t.unique_keys.end(), want) == t.unique_keys.end())
      report.problems.push_back({a.key_at, "key (" + pg::join(a.key) + ") is neither the primary key of " + a.table +
                                               " nor a unique index on it"});
    if (t.replica_identity != 'f')
      report.installs.push_back("REPLICA IDENTITY FULL on " + a.table +
                                " (updates and deletes carry the whole old row: large values and changed keys)");
  }
  std::vector<std::string> tables;
  for (const auto& a : map.aggregates) tables.push_back(a.table);
  report.installs.push_back("publication " + m.opt.slot + " FOR TABLE " + pg::join(tables));
  report.installs.push_back("logical replication slot " + m.opt.slot + " (pgoutput)");
  report.installs.push_back("tables banyan_sync_fence, banyan_sync_captured, banyan_sync_cursor");
  report.installs.push_back("the changelog " + m.log_path);
  return report;
}

void pg_capture::install(const data_map& map, bool refuse_foreign_writes) {
  auto& m = *impl_;
  m.map = map;
  auto c = m.pool.acquire();
  std::vector<std::string> tables;
  for (const auto& a : map.aggregates) tables.push_back(c->quote_identifier(a.table));
  {
    pg::transaction tx(*c);
    c->exec(
        "CREATE TABLE IF NOT EXISTS banyan_sync_fence (id int PRIMARY KEY CHECK (id = 1), since bigint NOT NULL,"
        " owner text NOT NULL, refuse boolean NOT NULL, at text NOT NULL);"
        "CREATE TABLE IF NOT EXISTS banyan_sync_captured (tbl text PRIMARY KEY, identity_before \"char\" NOT NULL,"
        " since text NOT NULL)");
    for (const auto& a : map.aggregates) {
      const auto t = describe_table(*c, a.table);
      c->exec("INSERT INTO banyan_sync_captured(tbl, identity_before, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
              {a.table, std::string(1, t.replica_identity), now_rfc3339()});
      if (t.replica_identity != 'f') c->exec("ALTER TABLE " + c->quote_identifier(a.table) + " REPLICA IDENTITY FULL");
    }
    const auto pub = c->quote_identifier(m.opt.slot);
    if (c->exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {m.opt.slot}).rows() == 1)
      c->exec("ALTER PUBLICATION " + pub + " SET TABLE " + pg::join(tables));
    else
      c->exec("CREATE PUBLICATION " + pub + " FOR TABLE " + pg::join(tables));
    // The refusal (foreign_writes: refuse): the database itself says no to a write the applier did
    // not make once the fence is up. SECURITY DEFINER: the app's own user may not ask about
    // replication origins.
    auto existing = c->exec("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'banyan_sync_refuse'");
    for (int i = 0; i < existing.rows(); ++i)
      c->exec("DROP TRIGGER banyan_sync_refuse ON " + std::string(existing.text(i, 0)));
    if (refuse_foreign_writes) {
      c->exec(
          "CREATE OR REPLACE FUNCTION banyan_sync_refuse() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
          " SET search_path = pg_catalog, public AS $$ BEGIN"
          " IF NOT pg_replication_origin_session_is_setup() AND EXISTS (SELECT 1 FROM banyan_sync_fence WHERE refuse) THEN"
          " RAISE EXCEPTION 'banyan-sync: the writes of % belong to another owner now (foreign_writes: refuse)',"
          " TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END IF;"
          " IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$");
      for (const auto& t : tables)
        c->exec("CREATE TRIGGER banyan_sync_refuse BEFORE INSERT OR UPDATE OR DELETE ON " + t +
                " FOR EACH ROW EXECUTE FUNCTION banyan_sync_refuse()");
    }
    tx.commit();
  }
  // The slot outside any transaction that wrote (PostgreSQL requires it). A slot made now starts
  // now: a changelog from an earlier slot cannot be continued (changes in between are nowhere).
  bool created = false;
  {
    auto r = c->exec("SELECT database, plugin FROM pg_replication_slots WHERE slot_name = $1", {m.opt.slot});
    if (r.rows() == 1) {
      const auto db = c->exec("SELECT current_database()");
      if (r.text(0, 0) != db.text(0, 0) || r.text(0, 1) != "pgoutput")
        throw std::runtime_error("a replication slot named " + m.opt.slot + " exists for database " +
                                 std::string(r.text(0, 0)) + " with plugin " + std::string(r.text(0, 1)) +
                                 ": not banyan-sync's for this database (choose another `slot:`)");
    } else {
      c->exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {m.opt.slot});
      created = true;
    }
  }
  m.open_log();
  {
    auto l = m.log_pool->acquire();
    sqlite::transaction tx(*l);
    sqlite_changelog::create(*l);
    l->exec("CREATE TABLE IF NOT EXISTS banyan_sync_decoded (id INTEGER PRIMARY KEY CHECK (id = 1), commit_lsn INTEGER NOT NULL)");
    std::int64_t seq = 0;
    {
      auto st = l->prepare("SELECT seq FROM sqlite_sequence WHERE name = 'banyan_sync_changelog'");
      if (st.step()) seq = st.get_int64(0);
    }
    // The decoded row is written when the changelog begins with a slot of its own.
    const bool log_has_slot = l->prepare("SELECT 1 FROM banyan_sync_decoded").step();
    if (created && log_has_slot && seq > 0) {
      // The old slot went (dropped, invalidated): changes since are nowhere. Everything logged so
      // far counts as pruned and the head moves one past it: a follower at any earlier position is
      // told it must copy again (pruned_through); a new one copies.
      log::warn("the replication slot was made anew: changes since the old one went are not in the feed; every follower "
                "must copy again (each one says so)",
                {{"slot", m.opt.slot}, {"old_head", seq}});
      l->exec("DELETE FROM banyan_sync_changelog");
      l->prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'banyan_sync_changelog'").bind_all(seq + 1).run();
    } else if (!created && !log_has_slot) {
      // The slot is older than this changelog (the state directory was emptied, or another
      // banyan-sync made it): what it confirmed before is in no changelog here. Made anew, so that
      // nothing is skipped silently; followers of the lost changelog are told to copy again.
      c->exec("SELECT pg_drop_replication_slot($1)", {m.opt.slot});
      c->exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {m.opt.slot});
      log::warn("the replication slot existed without this changelog: it was made anew; followers that read the old "
                "changelog must copy again",
                {{"slot", m.opt.slot}});
    }
    l->exec("INSERT OR IGNORE INTO banyan_sync_decoded(id, commit_lsn) VALUES (1, 0)");
    if (created) l->exec("UPDATE banyan_sync_decoded SET commit_lsn = 0");  // a new slot's transactions are all new
    tx.commit();
  }
  m.changelog->use_map(map);
}

std::vector<std::string> pg_capture::uninstall() {
  auto& m = *impl_;
  std::vector<std::string> removed;
  auto c = m.pool.acquire();
  {
    auto r = c->exec("SELECT active FROM pg_replication_slots WHERE slot_name = $1", {m.opt.slot});
    if (r.rows() == 1) {
      if (r.text(0, 0) == "t")
        throw std::runtime_error("the replication slot " + m.opt.slot + " is in use: stop banyan-sync first");
      c->exec("SELECT pg_drop_replication_slot($1)", {m.opt.slot});
      removed.push_back("replication slot " + m.opt.slot);
    }
  }
  pg::transaction tx(*c);
  if (c->exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {m.opt.slot}).rows() == 1) {
    c->exec("DROP PUBLICATION " + c->quote_identifier(m.opt.slot));
    removed.push_back("publication " + m.opt.slot);
  }
  auto triggers = c->exec("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'banyan_sync_refuse'");
  for (int i = 0; i < triggers.rows(); ++i) {
    c->exec("DROP TRIGGER banyan_sync_refuse ON " + std::string(triggers.text(i, 0)));
    removed.push_back("trigger banyan_sync_refuse on " + std::string(triggers.text(i, 0)));
  }
  if (c->exec("SELECT 1 FROM pg_proc WHERE proname = 'banyan_sync_refuse'").rows() > 0) {
    c->exec("DROP FUNCTION IF EXISTS banyan_sync_refuse()");
    removed.push_back("function banyan_sync_refuse");
  }
  if (c->exec("SELECT to_regclass('banyan_sync_captured')").is_null(0, 0) == false) {
    // The replica identity each table had before banyan-sync set it to FULL.
    auto r = c->exec("SELECT tbl, identity_before FROM banyan_sync_captured WHERE to_regclass(tbl) IS NOT NULL");
    for (int i = 0; i < r.rows(); ++i)
      if (r.text(i, 1) == "d") {
        c->exec("ALTER TABLE " + c->quote_identifier(r.text(i, 0)) + " REPLICA IDENTITY DEFAULT");
        removed.push_back("REPLICA IDENTITY FULL on " + std::string(r.text(i, 0)) + " (back to DEFAULT)");
      }
  }
  for (const char* t : {"banyan_sync_fence", "banyan_sync_captured", "banyan_sync_cursor"})
    if (!c->exec("SELECT to_regclass($1)", {std::string(t)}).is_null(0, 0)) {
      c->exec(std::string("DROP TABLE ") + t);
      removed.push_back(std::string("table ") + t);
    }
  auto origins = c->exec("SELECT roname FROM pg_replication_origin WHERE roname LIKE $1 || '/' || current_database() || '/%'",
                         {std::string(apply_origin_prefix)});
  for (int i = 0; i < origins.rows(); ++i) {
    c->exec("SELECT pg_replication_origin_drop($1)", {std::string(origins.text(i, 0))});
    removed.push_back("replication origin " + std::string(origins.text(i, 0)));
  }
  tx.commit();
  m.changelog.reset();
  m.log_pool.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    if (std::filesystem::remove(m.log_path + suffix, ec) && *suffix == '\0') removed.push_back("the changelog " + m.log_path);
  }
  return removed;
}

std::string pg_capture::broken() {
  auto& m = *impl_;
  if (!m.stream) return {};
  return m.stream->current().broken;
}

expected<feed_page, std::string> pg_capture::events(std::int64_t after, int limit) {
  auto& m = *impl_;
  if (!m.changelog) return unexpected(std::string("capture is not running"));
  if (auto why = broken(); !why.empty()) return unexpected(why);  // nothing answered as if whole
  // A reader behind the changelog gets what is logged at once: waiting for the decoder to reach the
  // server's position would hold every follower back while the decoder is behind (the first
  // version did, and under load a follower copying got 503s for minutes). A reader at the end waits
  // for it, so that an empty page means nothing was committed; if the decoder cannot get there in
  // time, what it logged meanwhile is still an answer.
  if (after >= m.changelog->head()) {
    if (auto why = m.logged_up_to_now(); !why.empty() && m.changelog->head() <= after) return unexpected(why);
  }
  return m.changelog->events(after, limit);
}

std::int64_t pg_capture::head() {
  auto& m = *impl_;
  if (auto why = m.logged_up_to_now(); !why.empty()) throw std::runtime_error(why);
  return m.changelog->head();
}

std::int64_t pg_capture::logged_head() { return impl_->changelog ? impl_->changelog->head() : 0; }

expected<snapshot_page, std::string> pg_capture::snapshot(const aggregate_map& a, std::string_view after, int limit) {
  auto& m = *impl_;
  std::vector<pg::param> params;
  if (!after.empty()) {
    boost::system::error_code ec;
    auto parsed = json::parse(after, ec);
    if (ec || !parsed.is_array() || parsed.as_array().size() != a.key.size() ||
        !std::all_of(parsed.as_array().begin(), parsed.as_array().end(), [](const json::value& v) { return v.is_string(); }))
      return unexpected("after must be a cursor this snapshot gave (a JSON array of " + std::to_string(a.key.size()) +
                        " key values)");
    for (const auto& v : parsed.as_array()) params.emplace_back(std::string(v.as_string()));
  }
  try {
    auto c = m.pool.acquire();
    const auto cols = image_columns(a);
    std::vector<std::string> quoted_cols, quoted_keys, marks;
    for (const auto& col : cols) quoted_cols.push_back(c->quote_identifier(col));
    for (std::size_t i = 0; i < a.key.size(); ++i) {
      quoted_keys.push_back(c->quote_identifier(a.key[i]));
      marks.push_back("$" + std::to_string(i + 1));
    }
    const auto table = c->quote_identifier(a.table);
    std::string sql = "SELECT " + pg::join(quoted_cols) + " FROM " + table;
    if (!params.empty()) sql += " WHERE (" + pg::join(quoted_keys) + ") > (" + pg::join(marks) + ")";
    sql += " ORDER BY " + pg::join(quoted_keys) + " LIMIT " + std::to_string(limit);
    auto r = c->exec(sql, params);
    snapshot_page page;
    json::array last_key;
    for (int row = 0; row < r.rows(); ++row) {
      json::object image;
      for (int col = 0; col < r.columns(); ++col)
        image[cols[static_cast<std::size_t>(col)]] =
            r.is_null(row, col) ? json::value(nullptr) : pg_image_value(r.column_type(col), r.text(row, col));
      auto key = key_of_row(a, image);
      auto payload = payload_of_row(a, image);
      if (!key) return unexpected(key.error());
      if (!payload) return unexpected(payload.error());
      page.rows.push_back({std::move(*key), std::move(*payload)});
      if (row + 1 == r.rows()) {
        // The cursor is the key's text as PostgreSQL gives it: compared back in the same type.
        last_key.clear();
        for (std::size_t k = 0; k < a.key.size(); ++k) last_key.push_back(json::string(r.text(row, static_cast<int>(k))));
      }
    }
    page.done = r.rows() < limit;
    page.next = page.rows.empty() ? std::string(after) : json::serialize(last_key);
    if (after.empty()) page.total = c->exec("SELECT count(*) FROM " + table).int64(0, 0);
    return page;
  } catch (const std::exception& e) {
    return unexpected(std::string("reading ") + a.table + ": " + e.what());
  }
}

std::int64_t pg_capture::prune(std::int64_t upto, std::int64_t keep) {
  return impl_->changelog ? impl_->changelog->prune(upto, keep) : 0;
}

fence_state pg_capture::fence() {
  auto c = impl_->pool.acquire();
  fence_state f;
  auto r = c->exec("SELECT since, owner, refuse, at FROM banyan_sync_fence WHERE id = 1");
  if (r.rows() == 1) {
    f.up = true;
    f.since = r.int64(0, 0);
    f.owner = std::string(r.text(0, 1));
    f.refuse = r.text(0, 2) == "t";
    f.at = std::string(r.text(0, 3));
  }
  return f;
}

void pg_capture::set_fence(const fence_state& f) {
  auto c = impl_->pool.acquire();
  pg::transaction tx(*c);
  c->exec("DELETE FROM banyan_sync_fence");
  if (f.up)
    c->exec("INSERT INTO banyan_sync_fence(id, since, owner, refuse, at) VALUES (1, $1, $2, $3, $4)",
            {std::to_string(f.since), f.owner, std::string(f.refuse ? "true" : "false"), f.at.empty() ? now_rfc3339() : f.at});
  tx.commit();
}

change_capture::foreign_writes pg_capture::foreign() {
  const auto f = fence();
  if (!f.up || !impl_->changelog) return {};
  return impl_->changelog->after(f.since);
}

void pg_capture::start() {
  auto& m = *impl_;
  if (m.stream) return;
  m.open_log();
  m.stream = std::make_unique<pg_stream>(m.opt.conninfo, m.opt.slot, m.log_path, m.map);
  m.stream->start();
}

void pg_capture::stop() {
  if (impl_ && impl_->stream) impl_->stream->stop();
}

capture_report pg_capture::report() {
  auto& m = *impl_;
  capture_report r;
  r.engine = "postgresql";
  r.slot = m.opt.slot;
  if (m.stream) {
    const auto s = m.stream->current();
    r.connected = s.connected;
    r.confirmed = pg::format_lsn(s.confirmed);
    if (!s.broken.empty()) r.warning = s.broken;
    else if (!s.connected && !s.last_error.empty()) r.warning = "not connected: " + s.last_error;
  } else {
    r.connected = false;
  }
  try {
    auto c = m.pool.acquire();
    auto q = c->exec(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, safe_wal_size, wal_status,"
        " current_setting('max_slot_wal_keep_size') FROM pg_replication_slots WHERE slot_name = $1",
        {m.opt.slot});
    if (q.rows() == 1) {
      if (!q.is_null(0, 0)) r.retained_wal_bytes = q.int64(0, 0);
      if (!q.is_null(0, 1)) r.safe_wal_bytes = q.int64(0, 1);
      const std::string status(q.text(0, 2));
      if (r.warning.empty()) {
        if (status == "unreserved" || status == "lost")
          r.warning = "the slot's WAL status is " + status + ": the server is about to drop (or dropped) WAL it needs";
        else if (r.safe_wal_bytes && r.retained_wal_bytes && *r.safe_wal_bytes < *r.retained_wal_bytes)
          r.warning = "the slot holds " + std::to_string(*r.retained_wal_bytes) + " bytes of WAL and only " +
                      std::to_string(*r.safe_wal_bytes) + " more fit before max_slot_wal_keep_size invalidates it";
        else if (!r.safe_wal_bytes && r.retained_wal_bytes && *r.retained_wal_bytes > m.opt.wal_warn_bytes)
          r.warning = "the slot holds " + std::to_string(*r.retained_wal_bytes) + " bytes of WAL (more than " +
                      std::to_string(m.opt.wal_warn_bytes) + "): is the decoder keeping up?";
      }
    } else if (r.warning.empty()) {
      r.warning = "the replication slot " + m.opt.slot + " does not exist";
    }
  } catch (const std::exception& e) {
    if (r.warning.empty()) r.warning = std::string("PostgreSQL does not answer: ") + e.what();
  }
  return r;
}

}  // namespace banyan::sync
