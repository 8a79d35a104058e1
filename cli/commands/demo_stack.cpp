#include "commands/demo_stack.hpp"

#include "banyan/platform/http_client.hpp"

#include <boost/json/parse.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace banyan::cli {

namespace {

std::string make_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/banyan-demo.XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot make a temporary directory for the demo");
  return pattern;
}

// The folder `banyan` runs from: the stack's binaries are built beside it.
std::string own_folder() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

void stop(std::unique_ptr<child_process>& p) {
  if (!p) return;
  p->signal(SIGTERM);
  if (!p->wait(std::chrono::seconds(10))) {
    p->signal(SIGKILL);
    p->wait(std::chrono::seconds(5));
  }
  p.reset();
}

}  // namespace

demo_stack::demo_stack(const std::vector<std::string>& programs) : dir_(make_dir()) {
  // Beside banyan (a build folder, an install's bin/), else on PATH (banyan alone copied elsewhere).
  const std::string own = own_folder();
  const char* path_env = std::getenv("PATH");
  for (const auto& name : programs) {
    std::vector<std::string> places{own};
    std::stringstream dirs(path_env ? path_env : "");
    for (std::string d; std::getline(dirs, d, ':');)
      if (!d.empty()) places.push_back(d);
    for (const auto& d : places)
      if (::access((d + "/" + name).c_str(), X_OK) == 0) {
        programs_[name] = d + "/" + name;
        break;
      }
    if (!programs_.count(name))
      throw std::runtime_error("the demo needs " + name + " beside banyan in " + own +
                               " or on PATH (scripts/demo.sh builds them)");
  }
}

demo_stack::~demo_stack() {
  stop(proxy_);
  stop(catalog_);
  stop(shipping_);
  stop(shop_);
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::uint16_t demo_stack::run(std::unique_ptr<child_process>& slot, std::vector<std::string> argv,
                              const std::string& log) {
  const std::string what = argv.front();
  argv.front() = programs_.at(argv.front());
  slot = std::make_unique<child_process>(std::move(argv), path(log));
  const auto port = listening_port(*slot, std::chrono::seconds(20));
  if (!port) throw std::runtime_error(what + " did not start; its log is " + path(log));
  return *port;
}

bool demo_stack::caught_up(const std::string& follower, const std::string& source) const {
  try {
    http::client f(follower), s(source);
    const auto sync = f.get("/internal/sync");
    const auto head = s.get("/internal/events?after=0&limit=1");
    if (!sync || !head || sync->status != 200 || head->status != 200) return false;
    const auto st = boost::json::parse(sync->body).as_object();
    return st.at("state").as_string() == "following" &&
           st.at("applied").as_int64() >= boost::json::parse(head->body).at("head").as_int64();
  } catch (const std::exception&) {
    return false;
  }
}

void demo_stack::start_catalog(const std::vector<std::string>& faults, std::uint16_t port) {
  std::vector<std::string> argv{"catalog-service", "--listen", "127.0.0.1:" + std::to_string(port), "--db",
                                path("catalog.db"), "--source", shop_url(), "--threads", "2"};
  for (const auto& f : faults) argv.insert(argv.end(), {"--fault", f});
  catalog_port_ = run(catalog_, std::move(argv), "catalog-service." + std::to_string(++catalog_builds_) + ".log");
}

void demo_stack::start(const std::vector<std::string>& faults) {
  // The monolith first, seeded; the service copies it and follows its feed.
  shop_port_ = run(shop_, {"legacy-shop", "--listen", "127.0.0.1:0", "--db", path("shop.db"), "--seed", "--threads", "2"},
                   "legacy-shop.log");
  start_catalog(faults, 0);
  for (int i = 0; i < 400 && !caught_up(catalog_url(), shop_url()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!caught_up(catalog_url(), shop_url()))
    throw std::runtime_error("catalog-service did not finish copying the catalog; its log is " + path("catalog-service.1.log"));
  // Now that the service's URL is known, the monolith restarts following it back (its port kept).
  stop(shop_);
  shop_port_ = run(shop_, {"legacy-shop", "--listen", "127.0.0.1:" + std::to_string(shop_port_), "--db", path("shop.db"),
                           "--threads", "2", "--follow", catalog_url()},
                   "legacy-shop.2.log");
  start_proxy();
}

void demo_stack::start_shipping(const std::string& booking_timeout) {
  shop_port_ = run(shop_, {"legacy-shop", "--listen", "127.0.0.1:0", "--db", path("shop.db"), "--seed", "--threads", "2"},
                   "legacy-shop.log");
  shipping_port_ = run(shipping_, {"shipping-service", "--listen", "127.0.0.1:0", "--db", path("shipping.db"), "--source",
                                   shop_url(), "--threads", "2", "--poll-interval", "20ms"},
                       "shipping-service.log");
  for (int i = 0; i < 400 && !caught_up(shipping_url(), shop_url()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!caught_up(shipping_url(), shop_url()))
    throw std::runtime_error("shipping-service did not finish copying the shipments; its log is " +
                             path("shipping-service.log"));
  stop(shop_);
  shop_port_ = run(shop_, {"legacy-shop", "--listen", "127.0.0.1:" + std::to_string(shop_port_), "--db", path("shop.db"),
                           "--threads", "2", "--follow-shipping", shipping_url(), "--booking-timeout", booking_timeout},
                   "legacy-shop.2.log");
  std::ofstream(path("proxy.yaml")) << "data:\n  monolith: " << shop_url() << "\n  shipping: " << shipping_url() << "\n";
  start_proxy();
}

void demo_stack::start_proxy() {
  std::ofstream(path("proxy.yaml"), std::ios::app) << "listen: 127.0.0.1:0\n"
                                       "admin: {listen: 127.0.0.1:0}\n"
                                       "monolith: " << shop_url() << "\n"
                                       "state_dir: " << path("state") << "\n"
                                       "access_log: " << path("access.log") << "\n"
                                       "threads: 1\n"
                                       "health_checks: {interval: 1s, timeout: 500ms}\n"
                                       // A service slower than this is failing: its reads go to the monolith.
                                       "timeouts: {upstream: 500ms}\n"
                                       "cutover: {hold_limit: 5s}\n";
  proxy_port_ = run(proxy_, {"banyan-proxy", "--config", path("proxy.yaml")}, "banyan-proxy.log");
  const auto admin_line = proxy_->read_line(std::chrono::seconds(10));
  if (!admin_line || admin_line->rfind("admin listening on ", 0) != 0)
    throw std::runtime_error("banyan-proxy did not say where its admin API listens; its log is " + path("banyan-proxy.log"));
  admin_port_ = static_cast<std::uint16_t>(std::stoi(admin_line->substr(admin_line->rfind(':') + 1)));
}

void demo_stack::redeploy_catalog(const std::vector<std::string>& faults, bool at_once) {
  const auto port = catalog_port_;
  if (at_once && catalog_) {
    catalog_->signal(SIGKILL);
    catalog_->wait(std::chrono::seconds(5));
    catalog_.reset();
  }
  stop(catalog_);
  start_catalog(faults, port);
}

}  // namespace banyan::cli
