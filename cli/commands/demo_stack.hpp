#pragma once
// `banyan demo`'s stack: legacy-shop (seeded), catalog-service (backfilling, then following it) or
// shipping-service (`banyan demo --extract shipping`),
// legacy-shop again following catalog-service back, and banyan-proxy in front, each on a free
// loopback port, all in one temporary directory. The binaries are the ones beside `banyan`.
#include "banyan/platform/child_process.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace banyan::cli {

class demo_stack {
 public:
  // Makes the directory (under $TMPDIR or /tmp) and finds `programs` (the act's binaries); starts
  // nothing.
  explicit demo_stack(const std::vector<std::string>& programs);
  ~demo_stack();  // stops what runs; removes the directory unless keep_files()
  demo_stack(const demo_stack&) = delete;
  demo_stack& operator=(const demo_stack&) = delete;

  // Starts everything, catalog-service with `faults` (its --fault values). Throws
  // std::runtime_error naming what did not start (and where its log is).
  void start(const std::vector<std::string>& faults);
  // The second extraction's stack instead (docs/saga.md): legacy-shop seeded, shipping-service
  // copying its shipments, legacy-shop again following it back with `booking_timeout`, the proxy.
  void start_shipping(const std::string& booking_timeout);
  // Replaces catalog-service with a build started with other `faults` (none: the fixed build), on
  // the same port and database, as a deploy would; `at_once` kills the old one rather than let it
  // drain (a bad build rolled back).
  void redeploy_catalog(const std::vector<std::string>& faults, bool at_once = false);
  void keep_files() noexcept { keep_ = true; }

  const std::string& dir() const noexcept { return dir_; }
  std::string shop_url() const { return url(shop_port_); }
  std::string catalog_url() const { return url(catalog_port_); }
  std::string shipping_url() const { return url(shipping_port_); }
  std::string proxy_url() const { return url(proxy_port_); }
  std::string admin_url() const { return url(admin_port_); }
  std::uint16_t proxy_port() const noexcept { return proxy_port_; }
  std::string token_file() const { return dir_ + "/state/admin.token"; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  static std::string url(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }
  // Starts `argv` logging to dir/LOG and returns its port, or throws.
  std::uint16_t run(std::unique_ptr<child_process>& slot, std::vector<std::string> argv, const std::string& log);
  void start_catalog(const std::vector<std::string>& faults, std::uint16_t port);
  void start_proxy();
  bool caught_up(const std::string& follower, const std::string& source) const;

  std::string dir_;
  std::map<std::string, std::string> programs_;  // legacy-shop, catalog-service, banyan-proxy → path
  bool keep_ = false;
  std::unique_ptr<child_process> shop_, catalog_, shipping_, proxy_;
  std::uint16_t shop_port_ = 0, catalog_port_ = 0, shipping_port_ = 0, proxy_port_ = 0, admin_port_ = 0;
  int catalog_builds_ = 0;
};

}  // namespace banyan::cli
