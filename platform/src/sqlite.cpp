#include "banyan/platform/sqlite.hpp"

#include "banyan/platform/clock.hpp"

#include <sqlite3.h>

namespace banyan::sqlite {

namespace {
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw error(db ? sqlite3_extended_errcode(db) : rc, msg);
}
}  // namespace

statement::~statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

statement& statement::bind(int index, std::int64_t v) {
  if (int rc = sqlite3_bind_int64(stmt_, index, v); rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}
statement& statement::bind(int index, double v) {
  if (int rc = sqlite3_bind_double(stmt_, index, v); rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}
statement& statement::bind(int index, std::string_view v) {
  if (int rc = sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8); rc != SQLITE_OK)
    fail(db_, rc, "bind");
  return *this;
}
statement& statement::bind(int index, std::nullptr_t) {
  if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, "step");
}

void statement::run() {
  while (step()) {
  }
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t statement::get_int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double statement::get_double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string statement::get_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}
std::optional<std::string> statement::get_optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return get_text(col);
}

namespace {
// SQLite's memory statistics take a global mutex on every allocation, across all connections: a
// 100,000-row backfill's profile spent 8 % of catalog-service in pthread_mutex_lock/unlock. Nothing
// here reads those statistics. (Before SQLite initialises, i.e. before the first open.)
[[maybe_unused]] const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}  // namespace

connection::connection(const std::string& path, const open_options& options) {
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  if (int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr); rc != SQLITE_OK) {
    std::string msg = "cannot open database " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw error(rc, msg);
  }
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db_, 1);
  if (options.wal && !options.read_only) exec("PRAGMA journal_mode=WAL");
  // NORMAL is durable across process crashes in WAL mode; only power loss can lose the last commits.
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
}

connection::~connection() {
  cache_.clear();  // finalized before the close
  if (db_) sqlite3_close_v2(db_);
}

void connection::exec_cached(std::string_view sql) {
  auto st = prepare_cached(sql);
  while (st->step()) {
  }
}

reused_statement connection::prepare_cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(std::string(sql), std::make_unique<statement>(prepare(sql))).first;
  return reused_statement(*it->second);
}

void connection::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw error(sqlite3_extended_errcode(db_), "exec: " + msg);
  }
}

statement connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr); rc != SQLITE_OK)
    fail(db_, rc, "prepare");
  return statement(stmt, db_);
}

void connection::set_busy_timeout(int ms) { sqlite3_busy_timeout(db_, ms); }

std::int64_t connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int connection::changes() const { return sqlite3_changes(db_); }

transaction::transaction(connection& c, mode m) : conn_(c) {
  conn_.exec(m == mode::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

transaction::~transaction() {
  if (!done_) {
    try {
      conn_.exec("ROLLBACK");
    } catch (...) {
      // The transaction may already be gone (SQLite rolls back on some errors); nothing to undo.
    }
  }
}

void transaction::commit() {
  conn_.exec("COMMIT");
  done_ = true;
}

int schema_version(connection& c, std::string_view owner) {
  c.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " owner TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
      " applied_at TEXT NOT NULL, PRIMARY KEY (owner, version))");
  auto st = c.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE owner = ?");
  st.bind(1, owner);
  st.step();
  return static_cast<int>(st.get_int64(0));
}

void migrate(connection& c, std::string_view owner, std::span<const migration> migrations) {
  for (std::size_t i = 1; i < migrations.size(); ++i)
    if (migrations[i].version <= migrations[i - 1].version)
      throw std::invalid_argument("migrations of " + std::string(owner) + " must have increasing versions");
  // A database a newer release migrated further holds tables or meanings this build does not
  // know; running on it could silently misread or undo them. Refuse, and say the way back.
  if (const int found = schema_version(c, owner); !migrations.empty() && found > migrations.back().version) {
    const char* file = sqlite3_db_filename(c.native(), "main");
    throw std::runtime_error(std::string(file && *file ? file : "the database") + ": the " + std::string(owner) +
                             " schema is at version " + std::to_string(found) + ", newer than this build knows (" +
                             std::to_string(migrations.back().version) +
                             "): a newer release wrote it; run that release, or restore the backup taken before "
                             "the upgrade");
  }
  for (const auto& m : migrations) {
    transaction tx(c);
    // Re-read inside the write lock: two processes migrating at once apply each version once.
    if (schema_version(c, owner) >= m.version) continue;
    c.exec(m.sql);
    c.prepare("INSERT INTO schema_migrations(owner, version, description, applied_at) VALUES (?, ?, ?, ?)")
        .bind_all(owner, m.version, m.description, now_rfc3339())
        .run();
    tx.commit();
  }
}

pool::pool(std::string path, std::size_t size, open_options options) : path_(std::move(path)) {
  for (std::size_t i = 0; i < size; ++i) idle_.push_back(std::make_unique<connection>(path_, options));
}

pool::lease pool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return !idle_.empty(); });
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return lease(*this, std::move(c));
}

void pool::release(std::unique_ptr<connection> c) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
  }
  available_.notify_one();
}

pool::lease::~lease() {
  if (conn_) pool_->release(std::move(conn_));
}

}  // namespace banyan::sqlite
