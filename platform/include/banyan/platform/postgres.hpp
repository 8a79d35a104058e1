#pragma once
// Thin RAII over libpq, as sqlite.hpp is over SQLite: a connection that throws a clear error,
// statements with text parameters (PostgreSQL infers each one's type from where it is used), the
// result's rows as text, and transactions that roll back unless committed. The replication
// protocol's COPY stream is read through native() by the one place that needs it
// (sync/src/pg_capture.cpp).
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace banyan::pg {

class error : public std::runtime_error {
 public:
  error(std::string sqlstate, const std::string& what) : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
  // The five-character SQLSTATE ("23505": unique violation), empty when the connection failed.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  bool is_constraint() const noexcept { return sqlstate_.rfind("23", 0) == 0; }

 private:
  std::string sqlstate_;
};

// A parameter: its text form, or SQL NULL.
using param = std::optional<std::string>;

class result {
 public:
  explicit result(pg_result* r) noexcept : r_(r) {}
  result(result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  result& operator=(result&& o) noexcept;
  result(const result&) = delete;
  ~result();

  int rows() const noexcept;
  int columns() const noexcept;
  bool is_null(int row, int col) const noexcept;
  std::string_view text(int row, int col) const noexcept;
  std::int64_t int64(int row, int col) const;  // throws when the value is not an integer
  std::string column_name(int col) const;
  std::uint32_t column_type(int col) const noexcept;  // the type's OID
  // Rows a command changed (INSERT, UPDATE, DELETE), 0 for others.
  std::int64_t affected() const;

 private:
  pg_result* r_;
};

class connection {
 public:
  // `conninfo` is a libpq connection string or URL (postgresql://user@/db?host=/run/sock).
  // `extra` are more keyword/value pairs (replication=database, options=-c …), which win.
  explicit connection(const std::string& conninfo,
                      const std::vector<std::pair<std::string, std::string>>& extra = {});
  connection(connection&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  connection& operator=(connection&&) = delete;
  connection(const connection&) = delete;
  ~connection();

  // Runs one statement (or several, without parameters); throws pg::error unless it succeeded.
  result exec(std::string_view sql);
  result exec(std::string_view sql, const std::vector<param>& params);
  // A named prepared statement, run many times without being parsed again.
  void prepare(const std::string& name, std::string_view sql);
  result exec_prepared(const std::string& name, const std::vector<param>& params);
  // "name" quoted as an identifier, for the statements that cannot take one as a parameter.
  std::string quote_identifier(std::string_view name) const;
  std::string quote_literal(std::string_view text) const;
  // Whether the connection is still usable (false after the server went away).
  bool ok() const noexcept;
  pg_conn* native() const noexcept { return c_; }
  // The connection's last error message, one line.
  std::string last_error() const;

 private:
  pg_conn* c_ = nullptr;
};

class transaction {
 public:
  explicit transaction(connection& c);
  transaction(const transaction&) = delete;
  ~transaction();
  void commit();

 private:
  connection& conn_;
  bool done_ = false;
};

// Connections to one database for threads that take turns: one is opened when none is free; a
// connection that broke (the server restarted) is not given back, so the next use opens a new one.
class pool {
 public:
  pool(std::string conninfo, std::vector<std::pair<std::string, std::string>> extra = {})
      : conninfo_(std::move(conninfo)), extra_(std::move(extra)) {}

  class lease {
   public:
    lease(pool& p, std::unique_ptr<connection> c) : pool_(&p), conn_(std::move(c)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease();
    connection& operator*() const noexcept { return *conn_; }
    connection* operator->() const noexcept { return conn_.get(); }

   private:
    pool* pool_;
    std::unique_ptr<connection> conn_;
  };
  lease acquire();

 private:
  std::string conninfo_;
  std::vector<std::pair<std::string, std::string>> extra_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<connection>> idle_;
};

// The items of a statement's list (quoted columns, placeholders) with `separator` between them.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// The standard LSN text form "16/B374D848" and back; nullopt for anything else.
std::optional<std::uint64_t> parse_lsn(std::string_view text) noexcept;
std::string format_lsn(std::uint64_t lsn);

}  // namespace banyan::pg
