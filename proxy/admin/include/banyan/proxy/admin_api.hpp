#pragma once
// The admin plane's HTTP API, transport-free: the platform server (or a test) calls handle().
// Bearer-token auth on everything but /healthz, /readyz and /metrics; state changes only through
// non-GET requests; every change is persisted with its audit entry before it goes live.
#include "banyan/evidence/evidence.hpp"
#include "banyan/platform/router.hpp"
#include "banyan/proxy/fleet_view.hpp"
#include "banyan/proxy/routing_state.hpp"
#include "banyan/proxy/state_store.hpp"
#include "banyan/proxy/write_cutover.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace banyan::shadow {
class shadow_recorder;
}

namespace banyan::proxy {

// Reads the token from `path`, or creates it there (32 random bytes as hex, mode 0600) when the
// file does not exist. Refuses a file others can read or write (the token changes routing). Throws
// std::runtime_error with a clear message on failure.
std::string load_or_create_token(const std::string& path);
// Compares in time independent of where the strings differ.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;
// 127.0.0.0/8, ::1 and localhost: the addresses an admin listener may take without being told to.
bool is_loopback_address(std::string_view address) noexcept;

// Requests without a valid token, per client address over the last minute. Past `limit`, further
// ones get 429 without the token being compared; a valid token is never limited (so a flood from
// loopback, where every local user is 127.0.0.1, cannot lock the operator out). Bounded memory.
class auth_failures {
 public:
  static constexpr std::size_t limit = 5;
  static constexpr std::chrono::seconds window{60};
  struct verdict {
    bool limited = false;  // answer 429
    bool log = true;       // worth a log line (one in ten once limited)
    std::size_t recent = 0;
  };
  verdict record(const std::string& address, std::chrono::steady_clock::time_point now);

 private:
  std::mutex mutex_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> recent_;
  std::uint64_t suppressed_ = 0;
};

struct admin_context {
  routing_state& routing;
  state_store& store;
  std::string token;
  std::string monolith_url;
  std::function<std::string()> metrics_text;  // Prometheus text of the data plane
  shadow::shadow_recorder* recorder = nullptr;  // shadow results; null: no shadow report
  barrier_settings cutover{};                   // the write cut-over barrier's hold limit
  fleet_view* fleet = nullptr;                  // a fleet's instance (docs/fleet.md); null on one machine
  fleet_barrier* barrier = nullptr;             // and its side of the write cut-over barrier
};

class admin_api {
 public:
  explicit admin_api(admin_context ctx);
  http::response handle(http::request& req);
  const write_cutover& cutover() const noexcept { return cutover_; }

 private:
  http::response replace_routes(http::request& req);
  http::response set_mode(http::request& req);
  http::response set_modes(http::request& req);
  http::response set_modes(http::request& req, const boost::json::object& body, std::vector<std::string> ids);
  // Validates, saves with its audit entry and swaps in a change prepared from `current` (the
  // routing the caller loaded once and computed the change from: in a fleet the follower may
  // install another instance's change meanwhile, and the save must compare this one's revision).
  http::response apply(const std::shared_ptr<const routing_snapshot>& current, std::vector<route> routes,
                       std::map<std::string, std::string> services, const http::request& req, std::string action,
                       std::string target, std::string reason, const plan_progress* progress = nullptr);
  http::response put_plan(http::request& req);
  http::response complete_plan(http::request& req);
  http::response shadow_report(http::request& req);
  http::response evidence(http::request& req);
  // Asks every other registered instance of the fleet for `path` with this request's query and
  // scope=instance (its own figures only): their JSON answers, and who answered.
  struct fleet_answers {
    std::vector<boost::json::object> docs;
    evidence::fleet_coverage coverage;
  };
  fleet_answers ask_fleet(const http::request& req, std::string_view path) const;
  void add_sync_evidence(evidence::evidence_doc& doc) const;
  // A body's "routes" and optional "services" (kept from the live routing when absent). Call with
  // change_mutex_ held. False with every problem when something is wrong.
  bool read_routing(const boost::json::object& body, const routing_snapshot* current, std::vector<route>& routes,
                    std::map<std::string, std::string>& services, std::vector<std::string>& problems) const;
  std::string token_id() const;
  // A canary that would split writes between two owners while data follows them (either
  // publishes a change feed): the 422 refusing it, or nothing.
  std::optional<http::response> refuse_split_writes(const std::vector<std::string>& split,
                                                    const routing_snapshot& after) const;
  // Who publishes a change feed for `service`'s data ("the monolith", the service's name), asked at
  // their data URLs (routing_state::data_url); empty when neither does: no data follows its writes.
  std::string feed_publisher(const std::string& service, const routing_snapshot& after) const;
  // A change that moves some of a service's write routes and leaves others with the other owner,
  // while its data follows a feed (writes_divided_by_route): the 422 refusing it, or nothing.
  std::optional<http::response> refuse_divided_writes(const std::vector<write_move>& moves,
                                                      const routing_snapshot& after) const;
  // Audits a barrier that gave up (the routing did not change) and answers 409 with its reason.
  http::response cutover_failed(const http::request& req, const std::string& action, const std::string& target,
                                const routing_snapshot& live, const cutover_result& result);
  auth_failures failures_;

  admin_context ctx_;
  write_cutover cutover_;
  http::router router_;
  std::mutex change_mutex_;  // one change at a time: read-modify-write of the routing
};

}  // namespace banyan::proxy
