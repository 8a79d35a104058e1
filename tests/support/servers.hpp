#pragma once
// The project's own servers as integration tests run them: real binaries on port 0.
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace banyan::test {

// legacy-shop on a database file, optionally seeded.
struct shop_process {
  child_process proc;
  std::uint16_t port;
  // `listen_port` 0 picks a free port; a test restarting the monolith passes the one it had.
  // `extra` are more arguments (--follow URL for the reverse sync).
  shop_process(const std::string& db, const std::string& log, bool seed, std::uint16_t listen_port = 0,
               std::vector<std::string> extra = {});
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  int stop();  // SIGTERM; the exit status
};

// catalog-service following `source_url`, on its own database. `extra` are more command-line
// arguments (--page-limit 50 to make a backfill take many pages).
struct catalog_process {
  child_process proc;
  std::uint16_t port;
  // `listen_port` 0 picks a free port; a test restarting the service passes the one it had.
  catalog_process(const std::string& db, const std::string& log, const std::string& source_url,
                  std::vector<std::string> extra = {}, std::uint16_t listen_port = 0);
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  int stop();  // SIGTERM; the exit status
  void kill();  // SIGKILL, as a crash would
};

// legacy-shop twice on the same seeded data, as right after an extraction: the monolith, and a
// stand-in for the extracted service that a test can make diverge.
struct shop_twins {
  explicit shop_twins(temp_dir& dir);
  bool seeded;  // first: the databases exist before either process starts
  shop_process monolith;
  shop_process service;
  // Sets one field of a product on the service only (its updated_at moves too); `json_value` is
  // JSON text. Returns the field's value before.
  std::string change_on_service(int product, const std::string& field, const std::string& json_value);
};

// banyan-proxy from a config file written into `dir` (listeners on port 0, state in dir/state).
struct proxy_process {
  temp_dir& dir;
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0, admin_port = 0;
  std::string token;

  proxy_process(temp_dir& d, const std::string& monolith_url, const std::string& extra_yaml = "");
  void start();
  int stop();  // SIGTERM; the exit status
  http_reply admin(std::string_view method, std::string_view target, std::string_view body = {});
  long peak_rss_kb() const;  // from the kernel (VmHWM)
  long rss_kb() const;       // now (VmRSS)
  int open_fds() const;      // file descriptors it holds now
};

// Proxy configuration for the commonest shadow setup: service `catalog` at `service_url`, and
// route product-detail (GET /api/products/{id}) shadowed to it. More routes may be appended.
std::string shadowed_product_detail(const std::string& service_url);

// Asks `done` every 100 ms until it says yes or `timeout` passes; whether it did. For results
// that arrive asynchronously (shadow comparisons, harvested evidence).
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Seeds a legacy-shop database in dir/monolith.db and copies it to dir/service.db: the same data
// on both sides, as right after an extraction.
void seed_twin_databases(temp_dir& dir);

// The banyan CLI run to completion: exit status, stdout and stderr.
struct run_result {
  int code;
  std::string out;
  std::string err;
};
run_result run_banyan(std::vector<std::string> args, const temp_dir& dir);
// Any program (argv[0] a path) run to completion the same way; its stderr passes through dir.
run_result run_program(std::vector<std::string> argv, const temp_dir& dir);

}  // namespace banyan::test
