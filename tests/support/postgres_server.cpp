#include "support/postgres_server.hpp"

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace banyan::test {

namespace {

// Debian keeps the server's programs out of PATH: /usr/lib/postgresql/VERSION/bin.
std::string server_bin_dir() {
  for (const char* v : {"17", "16", "15", "14", "13"}) {
    const std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (std::filesystem::exists(dir + "/initdb")) return dir;
  }
  throw std::runtime_error("no PostgreSQL server programs under /usr/lib/postgresql (scripts/test.sh installs postgresql)");
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

postgres_server::postgres_server(std::vector<std::string> settings) : bin_(server_bin_dir()), settings_(std::move(settings)) {
  char tmpl[] = "/tmp/banyan-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("running as root, and there is no postgres user to run PostgreSQL as");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown of the data directory failed");
  }
  if (run_as_owner({bin_ + "/initdb", "-D", (dir_ / "data").string(), "-A", "trust", "-U", "postgres", "--no-sync",
                    "-E", "UTF8", "--locale=C"}) != 0)
    throw std::runtime_error("initdb failed (see " + (dir_ / "initdb.log").string() + ")");
  start();
}

postgres_server::~postgres_server() {
  try {
    if (running_) stop("immediate");
  } catch (...) {
  }
  // BANYAN_KEEP_TEST_DIRS=1: the data directory is left for a look (pg_ctl start -D DIR/data).
  if (const char* keep = std::getenv("BANYAN_KEEP_TEST_DIRS"); keep && *keep == '1') return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int postgres_server::run_as_owner(const std::vector<std::string>& argv) const {
  std::string cmd;
  for (const auto& a : argv) cmd += quote(a) + " ";
  cmd += ">>" + quote((dir_ / "initdb.log").string()) + " 2>&1";
  if (::geteuid() == 0) cmd = "runuser -u postgres -- sh -c " + quote(cmd);
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void postgres_server::start() {
  // fsync off: these servers are thrown away; a crash the tests cause is a killed process, which
  // loses nothing that was written (the kernel still has it).
  std::string options = "-k " + dir_.string() + " -c listen_addresses= -c wal_level=logical -c fsync=off"
                        " -c max_wal_senders=10 -c max_replication_slots=10 -c wal_sender_timeout=10s";
  for (const auto& s : settings_) options += " -c " + s;
  if (run_as_owner({bin_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(), "-w", "-t",
                    "60", "-o", options, "start"}) != 0)
    throw std::runtime_error("PostgreSQL did not start (see " + (dir_ / "server.log").string() + ")");
  running_ = true;
}

void postgres_server::stop(const std::string& mode) {
  if (run_as_owner({bin_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-m", mode, "-w", "-t", "60", "stop"}) != 0)
    throw std::runtime_error("pg_ctl stop failed");
  running_ = false;
}

void postgres_server::restart(const std::string& mode) {
  stop(mode);
  start();
}

std::string postgres_server::url(const std::string& database) const {
  return "postgresql://postgres@/" + database + "?host=" + dir_.string();
}

void postgres_server::create_database(const std::string& name) { connect().exec("CREATE DATABASE " + name); }

pg::connection postgres_server::connect(const std::string& database) const { return pg::connection(url(database)); }

}  // namespace banyan::test
