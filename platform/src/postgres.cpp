#include "banyan/platform/postgres.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>

namespace banyan::pg {

namespace {

std::string one_line(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& ch : s)
    if (ch == '\n') ch = ' ';
  return s;
}

// Throws unless the result is a success; takes ownership of `r` either way.
result checked(PGconn* c, PGresult* r, std::string_view sql) {
  result out(r);
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_BOTH ||
      status == PGRES_COPY_OUT)
    return out;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string what = one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  if (what.empty()) what = one_line(PQerrorMessage(c));
  std::string shown(sql.substr(0, 120));
  for (auto& ch : shown)
    if (ch == '\n') ch = ' ';
  throw error(state ? state : "", what + " (in: " + shown + (sql.size() > 120 ? "…" : "") + ")");
}

}  // namespace

result& result::operator=(result&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

result::~result() {
  if (r_) PQclear(r_);
}

int result::rows() const noexcept { return r_ ? PQntuples(r_) : 0; }
int result::columns() const noexcept { return r_ ? PQnfields(r_) : 0; }
bool result::is_null(int row, int col) const noexcept { return PQgetisnull(r_, row, col) != 0; }
std::string_view result::text(int row, int col) const noexcept {
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}
std::int64_t result::int64(int row, int col) const {
  const auto t = text(row, col);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size())
    throw error("", "expected an integer in column " + column_name(col) + ", got '" + std::string(t) + "'");
  return v;
}
std::string result::column_name(int col) const { return PQfname(r_, col); }
std::uint32_t result::column_type(int col) const noexcept { return PQftype(r_, col); }
std::int64_t result::affected() const {
  const char* n = PQcmdTuples(r_);
  return n && *n ? std::stoll(n) : 0;
}

connection::connection(const std::string& conninfo, const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<const char*> keys{"dbname"}, values{conninfo.c_str()};
  for (const auto& [k, v] : extra) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname: the first "dbname" may be a whole connection string or URL.
  c_ = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!c_ || PQstatus(c_) != CONNECTION_OK) {
    const std::string why = c_ ? one_line(PQerrorMessage(c_)) : "out of memory";
    if (c_) PQfinish(c_);
    c_ = nullptr;
    throw error("", "cannot connect to PostgreSQL: " + why);
  }
  // NOTICEs ("relation … already exists, skipping") are for an interactive user, not our log.
  PQsetNoticeProcessor(c_, [](void*, const char*) {}, nullptr);
}

connection::~connection() {
  if (c_) PQfinish(c_);
}

result connection::exec(std::string_view sql) { return checked(c_, PQexec(c_, std::string(sql).c_str()), sql); }

result connection::exec(std::string_view sql, const std::vector<param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return checked(c_,
                 PQexecParams(c_, std::string(sql).c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                              nullptr, nullptr, 0),
                 sql);
}

void connection::prepare(const std::string& name, std::string_view sql) {
  checked(c_, PQprepare(c_, name.c_str(), std::string(sql).c_str(), 0, nullptr), sql);
}

result connection::exec_prepared(const std::string& name, const std::vector<param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return checked(c_, PQexecPrepared(c_, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0),
                 name);
}

std::string connection::quote_identifier(std::string_view name) const {
  char* q = PQescapeIdentifier(c_, name.data(), name.size());
  if (!q) throw error("", "cannot quote identifier: " + last_error());
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string connection::quote_literal(std::string_view text) const {
  char* q = PQescapeLiteral(c_, text.data(), text.size());
  if (!q) throw error("", "cannot quote literal: " + last_error());
  std::string out(q);
  PQfreemem(q);
  return out;
}

bool connection::ok() const noexcept { return c_ && PQstatus(c_) == CONNECTION_OK; }
std::string connection::last_error() const { return one_line(PQerrorMessage(c_)); }

transaction::transaction(connection& c) : conn_(c) { conn_.exec("BEGIN"); }
transaction::~transaction() {
  if (done_) return;
  try {
    if (conn_.ok()) conn_.exec("ROLLBACK");
  } catch (...) {  // the connection is gone: the server rolled back
  }
}
void transaction::commit() {
  conn_.exec("COMMIT");
  done_ = true;
}

pool::lease::~lease() {
  if (!conn_ || !conn_->ok()) return;
  // A statement that failed inside a transaction someone forgot leaves it aborted: not reusable.
  if (PQtransactionStatus(conn_->native()) != PQTRANS_IDLE) return;
  std::lock_guard lock(pool_->mutex_);
  pool_->idle_.push_back(std::move(conn_));
}

pool::lease pool::acquire() {
  {
    std::lock_guard lock(mutex_);
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      // A connection whose server went away (restarted) has its end of file waiting: reading what
      // is there (libpq's socket never blocks) finds it, and the connection is dropped unused.
      if (PQconsumeInput(c->native()) == 0 || PQstatus(c->native()) != CONNECTION_OK) continue;
      return lease(*this, std::move(c));
    }
  }
  return lease(*this, std::make_unique<connection>(conninfo_, extra_));
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += separator;
    s += i;
  }
  return s;
}

std::optional<std::uint64_t> parse_lsn(std::string_view text) noexcept {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  std::uint32_t hi = 0, lo = 0;
  auto a = std::from_chars(text.data(), text.data() + slash, hi, 16);
  auto b = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
  if (a.ec != std::errc() || a.ptr != text.data() + slash || b.ec != std::errc() || b.ptr != text.data() + text.size())
    return std::nullopt;
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

std::string format_lsn(std::uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

}  // namespace banyan::pg
