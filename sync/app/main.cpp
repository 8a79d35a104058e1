// banyan-sync: attaches to one database (SQLite) and publishes its changes as a feed, follows
// another feed into it, or both — with no code in the app (docs/banyan-sync.md).
//
//   banyan-sync --config FILE            run
//   banyan-sync check --config FILE      the map against the live schema; what it would install
//   banyan-sync uninstall --config FILE  remove everything it installed in the database
#include "banyan/platform/http_server.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/sync/sync_daemon.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace {

namespace sync = banyan::sync;

// The configuration, or exit 2 with FILE:LINE:COL lines.
bool load(const std::string& path, sync::sync_config& config) {
  banyan::diagnostics d;
  if (sync::read_sync_config(path, config, d)) return true;
  std::cerr << d.to_string();
  return false;
}

// "FILE:LINE:COL: error: no database at …" rather than an exception's words.
std::unique_ptr<sync::change_capture> capture_or_say(const sync::sync_config& config) {
  try {
    return sync::open_capture(config, 1);
  } catch (const std::exception& e) {
    std::cerr << config.file << ':' << std::max(config.database_at.line, 1) << ':'
              << std::max(config.database_at.column, 1) << ": error: " << e.what() << '\n';
    return nullptr;
  }
}

int check(const std::string& path) {
  sync::sync_config config;
  if (!load(path, config)) return 2;
  auto capture = capture_or_say(config);
  if (!capture) return 2;
  const auto report = capture->check(config.map);
  if (!report.problems.empty()) {
    std::cerr << sync::schema_diagnostics(config, report);
    return 2;
  }
  std::cout << path << ": the map fits " << config.database << '\n';
  for (const auto& a : config.map.aggregates) {
    std::cout << "  " << a.name << " ← " << a.table << " (key";
    for (const auto& k : a.key) std::cout << ' ' << k;
    std::cout << "):";
    for (const auto& f : a.fields) std::cout << ' ' << f.field << '=' << f.column << ':' << sync::to_string(f.type);
    std::cout << '\n';
  }
  std::cout << (config.publish ? "would install:\n" : "publish is off: installs nothing; would create:\n");
  for (const auto& i : report.installs)
    if (config.publish || i.find("banyan_sync_cursor") != std::string::npos) std::cout << "  " << i << '\n';
  for (const auto& n : report.notes) std::cout << "note: " << n << '\n';
  return 0;
}

int uninstall(const std::string& path) {
  sync::sync_config config;
  if (!load(path, config)) return 2;
  auto capture = capture_or_say(config);
  if (!capture) return 2;
  try {
    const auto removed = capture->uninstall();
    if (removed.empty()) std::cout << config.database << ": nothing of banyan-sync's was installed\n";
    for (const auto& r : removed) std::cout << "removed " << r << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "banyan-sync: uninstall: " << e.what() << '\n';
    return 1;
  }
}

int run(const std::string& path) {
  sync::sync_config config;
  if (!load(path, config)) return 2;
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  // One banyan-sync per state directory: a second one would apply the same feed twice over.
  const std::string lock_path = config.state_dir + "/lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::cerr << "banyan-sync: " << lock_path << " is held by another banyan-sync (or cannot be created)\n";
    return 1;
  }
  banyan::http::server_options options;
  if (!banyan::http::parse_listen_address(config.listen, options.address, options.port)) {
    std::cerr << path << ": listen: expected ADDR:PORT, got '" << config.listen << "'\n";
    return 2;
  }
  options.threads = config.threads;
  options.server_name = "banyan-sync";
  try {
    auto capture = capture_or_say(config);
    if (!capture) return 2;
    capture.reset();
    sync::sync_daemon daemon(config);
    for (const auto& n : daemon.notes()) banyan::log::warn(n);
    banyan::http::server server(options, [&daemon](banyan::http::request& req) { return daemon.handle(req); },
                                &daemon.metrics());
    daemon.start();
    std::printf("listening on %s\n", server.local_address().c_str());
    std::fflush(stdout);
    server.run();
    daemon.stop();
    banyan::log::info("stopped");
    return 0;
  } catch (const sync::schema_mismatch& e) {
    std::cerr << e.what();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "banyan-sync: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"banyan-sync: publish a database's changes as a feed and apply another feed into it, with no code in the app"};
  cli.set_version_flag("--version", std::string("banyan-sync ") + BANYAN_VERSION);
  std::string config;
  std::string log_level = "info";
  cli.add_option("--config", config, "the configuration file (YAML)");
  cli.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  auto* check_cmd = cli.add_subcommand("check", "Check the map against the live schema and say what would be installed");
  check_cmd->add_option("--config", config, "the configuration file (YAML)")->required();
  auto* uninstall_cmd = cli.add_subcommand("uninstall", "Remove every trigger and table banyan-sync installed");
  uninstall_cmd->add_option("--config", config, "the configuration file (YAML)")->required();
  cli.footer("Example:\n  banyan-sync --config sync.yaml\n  banyan-sync check --config sync.yaml");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  banyan::log::level level{};
  if (!banyan::log::parse_level(log_level, level)) {
    std::cerr << "banyan-sync: --log-level: expected debug, info, warn or error, got '" << log_level << "'\n";
    return 2;
  }
  banyan::log::set_min_level(level);
  if (*check_cmd) return check(config);
  if (*uninstall_cmd) return uninstall(config);
  if (config.empty()) {
    std::cerr << "banyan-sync: --config FILE is required (see --help)\n";
    return 2;
  }
  return run(config);
}
