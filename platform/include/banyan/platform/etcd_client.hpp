#pragma once
// The one etcd client: etcd v3's JSON gateway over the one HTTP client, for a fleet of proxies
// (docs/fleet.md). Several endpoints (the members of one cluster): a request goes to the one that
// answered last and moves on to the next when it cannot be reached. Blocking and not thread-safe:
// each thread keeps its own (the watch holds its connection for as long as it runs).
#include "banyan/platform/etcd_messages.hpp"
#include "banyan/platform/expected.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace banyan::etcd {

struct client_options {
  std::chrono::milliseconds connect_timeout{500};
  // A linearizable request without quorum waits for etcd's own timeout (about 7 s in 3.4); a fleet
  // must say "unavailable" sooner than that.
  std::chrono::milliseconds timeout{3'000};
  std::string user_agent = "banyan";
};

struct error {
  enum class kind {
    unreachable,  // no endpoint answered
    failed,       // an endpoint answered with an error (no quorum, a bad request)
    malformed,    // an answer that is not what etcd sends
  } what = kind::unreachable;
  std::string message;
};

class client {
 public:
  // Throws std::invalid_argument for an endpoint that is not http://HOST:PORT, or none.
  explicit client(std::vector<std::string> endpoints, client_options options = {});
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  expected<range_response, error> range(const range_request& r);
  expected<txn_response, error> txn(const txn_request& t);
  expected<lease_grant_response, error> lease_grant(std::int64_t ttl_seconds);
  // The lease's remaining TTL in seconds; 0 when it has expired (or never was).
  expected<std::int64_t, error> lease_keepalive(std::int64_t id);
  expected<bool, error> lease_revoke(std::int64_t id);

  // Watches until `on_response` returns false or `keep_going` does (asked at least every 200 ms),
  // or the stream ends or breaks (the error says how). Without any message for `idle` the stream
  // is taken as broken: ask etcd for progress notifications to keep a quiet stream talking.
  expected<bool, error> watch(const watch_create& w, const std::function<bool(const watch_response&)>& on_response,
                              const std::function<bool()>& keep_going,
                              std::chrono::milliseconds idle = std::chrono::seconds(30));

  const std::vector<std::string>& endpoints() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// "http://a:2379,http://b:2379" → its URLs; false with why for an empty list or a URL that is not
// http://HOST:PORT.
bool parse_endpoints(std::string_view text, std::vector<std::string>& out, std::string& why);

}  // namespace banyan::etcd
