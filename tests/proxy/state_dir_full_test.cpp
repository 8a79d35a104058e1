// banyan-proxy with its state directory on a real filesystem that runs out of space (issue 10): a
// small tmpfs, mounted in a mount namespace of this test's own so nothing else on the machine sees
// it, filled to the last byte while shadowed traffic flows. Traffic keeps flowing on the last good
// routing, the problem shows in /readyz and the metrics, a routing change is refused without
// touching what was saved, and when space returns the results kept in memory are written and
// changes go through again.
//
// Mounting needs CAP_SYS_ADMIN (root, as CI runs). Without it the test says why and exits 77,
// which ctest reports as skipped, never as passed.
#include "banyan/platform/sqlite.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/sqlite_checks.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace banyan::test;
namespace json = boost::json;

namespace {

[[noreturn]] void skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(77);
}

// A tmpfs of `size` at `dir`, in a private mount namespace this process (and the children it
// starts afterwards) enters; unmounted when this goes.
class small_filesystem {
 public:
  small_filesystem(const std::string& dir, const std::string& size) : dir_(dir) {
    if (::unshare(CLONE_NEWNS) != 0)
      skip(std::string("cannot make a private mount namespace (needs CAP_SYS_ADMIN): ") + std::strerror(errno));
    // Mounts made here must not propagate back to the machine's namespace.
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      skip(std::string("cannot make mounts private: ") + std::strerror(errno));
    std::filesystem::create_directories(dir_);
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0)
      skip(std::string("cannot mount a tmpfs: ") + std::strerror(errno));
  }
  ~small_filesystem() { ::umount2(dir_.c_str(), MNT_DETACH); }
  small_filesystem(const small_filesystem&) = delete;
  small_filesystem& operator=(const small_filesystem&) = delete;

  // Writes a filler file until the filesystem refuses even one byte.
  void fill() {
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> block(64 * 1024, 'x');
    for (std::size_t size = block.size(); size > 0; size /= 2)
      while (::write(fd, block.data(), size) == static_cast<ssize_t>(size)) {
      }
    CHECK(errno == ENOSPC);
    ::close(fd);
    CHECK(free_bytes() == 0);
  }
  void make_room() { std::filesystem::remove(filler()); }
  unsigned long long free_bytes() const {
    struct statvfs s{};
    REQUIRE(::statvfs(dir_.c_str(), &s) == 0);
    return static_cast<unsigned long long>(s.f_bavail) * s.f_frsize;
  }

 private:
  std::string filler() const { return dir_ + "/filler"; }
  std::string dir_;
};

std::int64_t compared(proxy_process& proxy) {
  const auto r = proxy.admin("GET", "/api/v1/shadow/report");
  REQUIRE(r.status == 200);
  const auto report = json::parse(r.body);  // named: the loop must not outlive it
  for (const auto& route : report.at("routes").as_array())
    if (route.at("route").as_string() == "product-detail")
      return route.at("counts").at("compared").to_number<std::int64_t>();
  return 0;
}

bool metric_is(proxy_process& proxy, const std::string& line) {
  return http_call(proxy.admin_port, "GET", "/metrics").body.find(line + "\n") != std::string::npos;
}

std::int64_t routing_version(proxy_process& proxy) {
  const auto r = proxy.admin("GET", "/api/v1/routes");
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("version").to_number<std::int64_t>();
}

}  // namespace

TEST_CASE("faults: a full state directory keeps traffic on the last routing and recovers when space returns",
          "[proxy][faults]") {
  temp_dir dir;
  small_filesystem fs(dir.file("state"), "4m");
  shop_twins shop(dir);  // their databases live outside the small filesystem
  proxy_process proxy(dir, shop.monolith.url(),
                      shadowed_product_detail(shop.service.url()) +
                      "  - id: orders\n"
                      "    match: {methods: [GET], path: /api/orders}\n"
                      "    service: catalog\n"
                      "    mode: monolith\n");
  auto get_products = [&](int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += http_call(proxy.port, "GET", "/api/products/" + std::to_string(i % 20 + 1)).status == 200;
    return ok;
  };

  // Before: results recorded, a change saved with its audit entry.
  REQUIRE(get_products(50) == 50);
  REQUIRE(eventually([&] { return compared(proxy) == 50; }));
  REQUIRE(proxy.admin("POST", "/api/v1/routes/orders/mode", R"({"mode":"shadow","reason":"before"})").status == 200);
  const auto version_before = routing_version(proxy);
  CHECK(http_call(proxy.admin_port, "GET", "/readyz").status == 200);
  CHECK(metric_is(proxy, "banyan_state_store_writable 1"));

  fs.fill();

  // Traffic flows on, shadowed, on the routing saved last.
  CHECK(get_products(30) == 30);
  const auto ready = http_call(proxy.admin_port, "GET", "/readyz");
  INFO(ready.body);
  CHECK(ready.status == 503);
  CHECK(ready.body.find("state_store_unavailable") != std::string::npos);
  CHECK(metric_is(proxy, "banyan_state_store_writable 0"));
  // The recorder cannot write the new results: it keeps them, and says so.
  CHECK(eventually([&] { return metric_is(proxy, "banyan_shadow_store_writable 0"); }));
  // A change is refused, and the routing in force is the one saved.
  const auto refused =
      proxy.admin("POST", "/api/v1/routes/orders/mode", R"({"mode":"monolith","reason":"while full"})");
  INFO(refused.body);
  CHECK(refused.status == 503);
  CHECK(refused.body.find("state_store_unavailable") != std::string::npos);
  CHECK(routing_version(proxy) == version_before);
  CHECK(get_products(10) == 10);

  fs.make_room();

  // Space is back: ready again, the results kept in memory are written, changes go through.
  CHECK(eventually([&] { return http_call(proxy.admin_port, "GET", "/readyz").status == 200; }));
  CHECK(eventually([&] { return metric_is(proxy, "banyan_shadow_store_writable 1"); }));
  CHECK(metric_is(proxy, "banyan_state_store_writable 1"));
  CHECK(eventually([&] { return compared(proxy) == 90; }));
  CHECK(proxy.admin("POST", "/api/v1/routes/orders/mode", R"({"mode":"monolith","reason":"after"})").status == 200);
  CHECK(routing_version(proxy) > version_before);
  CHECK(proxy.stop() == 0);

  // Nothing recorded before was harmed: the database is whole, and holds both changes (the
  // refused one not at all).
  banyan::sqlite::connection db(dir.file("state/banyan.db"));
  CHECK(integrity_of(db) == "ok");
  auto reasons = db.prepare("SELECT reason FROM proxy_audit WHERE action = 'route.mode' ORDER BY id");
  std::vector<std::string> seen;
  while (reasons.step()) seen.push_back(reasons.get_text(0));
  CHECK(seen == std::vector<std::string>{"before", "after"});
}
