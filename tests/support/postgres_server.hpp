#pragma once
// A PostgreSQL server of the test's own, as the tests of banyan-sync's PostgreSQL engine need one:
// initdb into a fresh directory (as the postgres user when the tests run as root: PostgreSQL
// refuses root), a Unix socket in that directory and no TCP listener, wal_level = logical. Stopped
// (immediately) and removed with the object.
#include "banyan/platform/postgres.hpp"

#include <filesystem>
#include <string>

namespace banyan::test {

class postgres_server {
 public:
  // `settings` are more `-c name=value` server settings ("max_slot_wal_keep_size=1MB").
  explicit postgres_server(std::vector<std::string> settings = {});
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  // postgresql://postgres@/DB?host=DIR
  std::string url(const std::string& database = "postgres") const;
  void create_database(const std::string& name);
  pg::connection connect(const std::string& database = "postgres") const;
  // `mode` as pg_ctl takes it: fast (clean) or immediate (as a crash: recovery at the next start).
  void restart(const std::string& mode = "fast");
  void stop(const std::string& mode = "fast");
  void start();
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  int run_as_owner(const std::vector<std::string>& argv) const;  // pg_ctl, initdb: the exit status
  std::filesystem::path dir_;
  std::string bin_;
  std::vector<std::string> settings_;
  bool running_ = false;
};

}  // namespace banyan::test
