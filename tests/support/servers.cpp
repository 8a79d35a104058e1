#include "support/servers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace banyan::test {

namespace {
std::vector<std::string> shop_args(const std::string& db, bool seed, std::uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> a{binary("legacy-shop"), "--listen", "127.0.0.1:" + std::to_string(port), "--db", db,
                             "--threads", "2"};
  if (seed) a.push_back("--seed");
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}
}  // namespace

shop_process::shop_process(const std::string& db, const std::string& log, bool seed, std::uint16_t listen_port,
                           std::vector<std::string> extra)
    : proc(shop_args(db, seed, listen_port, std::move(extra)), log), port(wait_for_listening(proc)) {}

int shop_process::stop() {
  proc.signal(SIGTERM);
  auto code = proc.wait(std::chrono::seconds(15));
  return code ? *code : -1;
}

namespace {
std::vector<std::string> catalog_args(const std::string& db, const std::string& source, std::vector<std::string> extra,
                                      std::uint16_t port) {
  std::vector<std::string> a{binary("catalog-service"), "--listen", "127.0.0.1:" + std::to_string(port), "--db", db,
                             "--source", source};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}
}  // namespace

catalog_process::catalog_process(const std::string& db, const std::string& log, const std::string& source_url,
                                 std::vector<std::string> extra, std::uint16_t listen_port)
    : proc(catalog_args(db, source_url, std::move(extra), listen_port), log), port(wait_for_listening(proc)) {}

int catalog_process::stop() {
  proc.signal(SIGTERM);
  auto code = proc.wait(std::chrono::seconds(15));
  return code ? *code : -1;
}

void catalog_process::kill() {
  proc.signal(SIGKILL);
  proc.wait(std::chrono::seconds(15));
}

std::string shadowed_product_detail(const std::string& service_url) {
  return "services: {catalog: " + service_url + "}\n"
         "routes:\n"
         "  - id: product-detail\n"
         "    match: {methods: [GET], path: \"/api/products/{id}\"}\n"
         "    service: catalog\n"
         "    mode: shadow\n";
}

proxy_process::proxy_process(temp_dir& d, const std::string& monolith_url, const std::string& extra_yaml) : dir(d) {
  std::ofstream(dir.file("proxy.yaml")) << "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nmonolith: " << monolith_url
                                        << "\nstate_dir: " << dir.file("state") << "\n"
                                        << extra_yaml;
  start();
}

void proxy_process::start() {
  proc = std::make_unique<child_process>(
      std::vector<std::string>{binary("banyan-proxy"), "--config", dir.file("proxy.yaml")}, dir.file("proxy.log"));
  port = wait_for_listening(*proc);
  auto admin_line = proc->read_line(std::chrono::seconds(10));
  REQUIRE(admin_line);
  admin_port = static_cast<std::uint16_t>(std::stoi(admin_line->substr(admin_line->rfind(':') + 1)));
  std::ifstream(dir.file("state/admin.token")) >> token;
}

int proxy_process::stop() {
  proc->signal(SIGTERM);
  auto code = proc->wait(std::chrono::seconds(15));
  return code ? *code : -1;
}

http_reply proxy_process::admin(std::string_view method, std::string_view target, std::string_view body) {
  return http_call(admin_port, method, target, body,
                   {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}, {"X-Banyan-Operator", "test"}});
}

namespace {
// A "Vm…:" figure of /proc/PID/status in kB; -1 when absent.
long status_kb(pid_t pid, std::string_view field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  return -1;
}
}  // namespace

long proxy_process::peak_rss_kb() const { return status_kb(proc->pid(), "VmHWM:"); }
long proxy_process::rss_kb() const { return status_kb(proc->pid(), "VmRSS:"); }

int proxy_process::open_fds() const {
  int n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(proc->pid()) + "/fd"))
    ++n;
  return n;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void seed_twin_databases(temp_dir& dir) {
  {
    shop_process seeding(dir.file("monolith.db"), dir.file("seed.log"), true);
    REQUIRE(seeding.stop() == 0);
  }
  for (const char* suffix : {"", "-wal", "-shm"})
    if (std::filesystem::exists(dir.file(std::string("monolith.db") + suffix)))
      std::filesystem::copy_file(dir.file(std::string("monolith.db") + suffix), dir.file(std::string("service.db") + suffix));
}

shop_twins::shop_twins(temp_dir& dir)
    : seeded((seed_twin_databases(dir), true)),
      monolith(dir.file("monolith.db"), dir.file("monolith.log"), false),
      service(dir.file("service.db"), dir.file("service.log"), false) {}

std::string shop_twins::change_on_service(int product, const std::string& field, const std::string& json_value) {
  const std::string target = "/api/products/" + std::to_string(product);
  auto p = boost::json::parse(http_call(service.port, "GET", target).body).as_object();
  const std::string before = boost::json::serialize(p.at(field));
  for (const char* volatile_field : {"id", "updated_at", "generated_at", "request_id"}) p.erase(volatile_field);
  p[field] = boost::json::parse(json_value);
  REQUIRE(http_json(service.port, "PUT", target, boost::json::serialize(p)).status == 200);
  return before;
}

run_result run_banyan(std::vector<std::string> args, const temp_dir& dir) {
  args.insert(args.begin(), binary("banyan"));
  return run_program(std::move(args), dir);
}

run_result run_program(std::vector<std::string> args, const temp_dir& dir) {
  child_process p(args, dir.file("stderr.txt"));
  std::string out;
  while (auto line = p.read_line(std::chrono::seconds(10))) out += *line + "\n";
  const auto code = p.wait(std::chrono::seconds(10));
  std::ifstream e(dir.file("stderr.txt"));
  std::stringstream err;
  err << e.rdbuf();
  std::ofstream(dir.file("stderr.txt"), std::ios::trunc);
  return {code ? *code : -1, out, err.str()};
}

}  // namespace banyan::test
