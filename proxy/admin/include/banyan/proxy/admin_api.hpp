#pragma once
// The admin plane's HTTP API, transport-free: the platform server (or a test) calls handle().
// Bearer-token auth on everything but /healthz, /readyz and /metrics; state changes only through
// non-GET requests; every change is persisted with its audit entry before it goes live.
#include "banyan/platform/router.hpp"
#include "banyan/proxy/routing_state.hpp"
#include "banyan/proxy/state_store.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <string>

namespace banyan::shadow {
class shadow_recorder;
}

namespace banyan::proxy {

// Reads the token from `path`, or creates it there (32 random bytes as hex, mode 0600) when the
// file does not exist. Throws std::runtime_error with a clear message on failure.
std::string load_or_create_token(const std::string& path);
// Compares in time independent of where the strings differ.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

struct admin_context {
  routing_state& routing;
  state_store& store;
  std::string token;
  std::string monolith_url;
  std::function<std::string()> metrics_text;  // Prometheus text of the data plane
  shadow::shadow_recorder* recorder = nullptr;  // shadow results; null: no shadow report
};

class admin_api {
 public:
  explicit admin_api(admin_context ctx);
  http::response handle(http::request& req);

 private:
  http::response replace_routes(http::request& req);
  http::response set_mode(http::request& req);
  http::response apply(std::vector<route> routes, std::map<std::string, std::string> services,
                       const http::request& req, std::string action, std::string target, std::string reason,
                       const plan_progress* progress = nullptr);
  http::response put_plan(http::request& req);
  http::response shadow_report(http::request& req);
  http::response evidence(http::request& req);
  void add_sync_evidence(boost::json::object& doc) const;
  // A body's "routes" and optional "services" (kept from the live routing when absent). Call with
  // change_mutex_ held. False with every problem when something is wrong.
  bool read_routing(const boost::json::object& body, std::vector<route>& routes,
                    std::map<std::string, std::string>& services, std::vector<std::string>& problems) const;
  std::string token_id() const;

  admin_context ctx_;
  http::router router_;
  std::mutex change_mutex_;  // one change at a time: read-modify-write of the routing
};

}  // namespace banyan::proxy
