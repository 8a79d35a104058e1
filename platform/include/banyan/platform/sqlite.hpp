#pragma once
// Thin RAII over SQLite3: connections tuned for a server (WAL, busy timeout, foreign keys),
// prepared statements with typed binds, transactions that roll back unless committed, versioned
// per-owner schema migrations, and a small connection pool.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace banyan::sqlite {

class error : public std::runtime_error {
 public:
  error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }
  // SQLITE_CONSTRAINT and its extended codes: a uniqueness or foreign-key rule said no.
  bool is_constraint() const noexcept { return (code_ & 0xff) == 19; }

 private:
  int code_;
};

struct open_options {
  bool read_only = false;
  int busy_timeout_ms = 5000;
  bool wal = true;
};

class connection;

class statement {
 public:
  statement(statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_) { o.stmt_ = nullptr; }
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;
  ~statement();

  // Parameters are 1-based, as in SQLite.
  statement& bind(int index, std::int64_t v);
  statement& bind(int index, int v) { return bind(index, static_cast<std::int64_t>(v)); }
  statement& bind(int index, double v);
  statement& bind(int index, std::string_view v);
  statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  statement& bind(int index, std::nullptr_t);
  template <class T>
  statement& bind(int index, const std::optional<T>& v) {
    return v ? bind(index, *v) : bind(index, nullptr);
  }
  template <class... Args>
  statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // True while a row is available; false when done. Throws on error.
  bool step();
  // Runs to completion (for statements that return no rows).
  void run();
  void reset();

  bool is_null(int col) const;
  std::int64_t get_int64(int col) const;
  double get_double(int col) const;
  std::string get_text(int col) const;
  std::optional<std::string> get_optional_text(int col) const;

 private:
  friend class connection;
  statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// A statement from connection::prepare_cached: reset (and its bindings cleared) when this handle
// goes, so a read left half-stepped never holds its snapshot open on the connection.
class reused_statement {
 public:
  explicit reused_statement(statement& s) noexcept : s_(&s) {}
  reused_statement(const reused_statement&) = delete;
  reused_statement& operator=(const reused_statement&) = delete;
  ~reused_statement() { s_->reset(); }
  statement* operator->() const noexcept { return s_; }
  statement& operator*() const noexcept { return *s_; }

 private:
  statement* s_;
};

class connection {
 public:
  connection(const std::string& path, const open_options& options = {});
  connection(connection&& o) noexcept : db_(o.db_), cache_(std::move(o.cache_)) { o.db_ = nullptr; }
  connection& operator=(connection&&) = delete;
  connection(const connection&) = delete;
  ~connection();

  void exec(std::string_view sql);
  statement prepare(std::string_view sql);
  // The same statement prepared once and kept: for statements run per row or per event, where
  // preparing costs more than running (a sync applying 20,000 events prepared 60,000 times). One
  // use of a given SQL text at a time: its handle resets it when it goes.
  reused_statement prepare_cached(std::string_view sql);
  // One statement without results, prepared once per connection (SAVEPOINT, BEGIN, COMMIT on a
  // per-row path: exec() parses its text every time).
  void exec_cached(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  // How long a statement waits for another writer's lock before failing with SQLITE_BUSY.
  void set_busy_timeout(int ms);
  int changes() const;
  sqlite3* native() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<statement>, std::less<>> cache_;
};

class transaction {
 public:
  enum class mode { deferred, immediate };
  // Writers should use immediate: the write lock is taken up front, so two writers never deadlock
  // upgrading from a read lock.
  explicit transaction(connection& c, mode m = mode::immediate);
  transaction(const transaction&) = delete;
  ~transaction();
  void commit();

 private:
  connection& conn_;
  bool done_ = false;
};

struct migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// Applies the owner's migrations newer than its recorded version, each in its own transaction,
// recording them in `schema_migrations(owner, version, description, applied_at)`. An owner only
// ever touches its own tables. Throws when versions are not strictly increasing, and when the
// database is at a version newer than the last one given (written by a newer release).
void migrate(connection& c, std::string_view owner, std::span<const migration> migrations);
// Highest applied version for the owner, 0 when none.
int schema_version(connection& c, std::string_view owner);

class pool {
 public:
  pool(std::string path, std::size_t size, open_options options = {});

  class lease {
   public:
    lease(pool& p, std::unique_ptr<connection> c) : pool_(&p), conn_(std::move(c)) {}
    lease(lease&& o) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease();
    connection& operator*() const noexcept { return *conn_; }
    connection* operator->() const noexcept { return conn_.get(); }

   private:
    pool* pool_;
    std::unique_ptr<connection> conn_;
  };

  // Blocks until a connection is free.
  lease acquire();
  const std::string& path() const noexcept { return path_; }

 private:
  void release(std::unique_ptr<connection> c);
  std::string path_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<connection>> idle_;
};

}  // namespace banyan::sqlite
