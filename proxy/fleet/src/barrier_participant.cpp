#include "banyan/proxy/barrier_participant.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/http_client.hpp"
#include "banyan/platform/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <thread>

namespace banyan::proxy::fleet {

namespace json = boost::json;

barrier_participant::barrier_participant(std::vector<std::string> endpoints, keys k, routing_state& routing,
                                         std::string token)
    : client_(std::move(endpoints)), keys_(std::move(k)), routing_(routing), token_(std::move(token)) {}

void barrier_participant::set_instance(std::string id,
                                       std::function<bool(const std::string&, const std::string&)> own_ack) {
  std::lock_guard lock(mutex_);
  instance_ = std::move(id);
  own_ack_ = std::move(own_ack);
}

bool barrier_participant::ack_directly(const std::string& url, const std::string& hold,
                                       const std::string& instance) const {
  // Short deadlines: past them the ack goes through etcd, which the coordinator also reads.
  http::client_options options;
  options.connect_timeout = std::chrono::milliseconds(250);
  options.timeout = std::chrono::milliseconds(500);
  options.user_agent = "banyan-proxy-fleet";
  try {
    http::client c(url, options);
    http::header_list headers;
    headers.add("Authorization", "Bearer " + token_);
    headers.add("Content-Type", "application/json");
    const auto r = c.send("POST", "/api/v1/fleet/acks", headers,
                          json::serialize(json::object{{"hold", hold}, {"instance", instance}}));
    if (r && r->status == 200) return true;
    const std::string why = r ? "status " + std::to_string(r->status) + ": " + r->body : r.error().message;
    log::warn("fleet: the coordinator did not take this instance's ack; acking in etcd",
              {{"coordinator", url}, {"why", why}});
  } catch (const std::exception& e) {
    log::warn("fleet: the coordinator's admin URL is unusable; acking in etcd", {{"coordinator", url}, {"why", e.what()}});
  }
  return false;
}

std::int64_t barrier_participant::held_revision() const {
  std::lock_guard lock(mutex_);
  return held_revision_;
}

void barrier_participant::hold(std::string_view document, std::int64_t revision) {
  boost::system::error_code ec;
  const auto v = json::parse(document, ec);
  const auto* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  const auto* routes = o ? o->if_contains("routes") : nullptr;
  const auto* id = o ? o->if_contains("id") : nullptr;
  const auto* limit = o ? o->if_contains("hold_limit_ms") : nullptr;
  const auto* coordinator = o ? o->if_contains("coordinator") : nullptr;
  const auto* ack_url = o ? o->if_contains("ack_url") : nullptr;
  if (!routes || !routes->is_array() || !id || !id->is_string() || !limit || !limit->is_int64()) {
    log::error("fleet: a write cut-over's hold this instance cannot read; nothing held", {{"hold", std::string(document)}});
    return;
  }
  const std::int64_t hold_limit = limit->as_int64();
  // As the local barrier: a write counts itself in flight before it looks for a hold, and the hold
  // is set before counting, so every write is either seen here or sees the hold. Held writes fail
  // a second after the hold limit rather than go anywhere without the outcome.
  const auto until = steady_ms() + hold_limit + 1000;
  std::vector<std::shared_ptr<route_stats>> held;
  for (const auto& r : routes->as_array())
    if (r.is_string()) held.push_back(routing_.stats_for(std::string(r.as_string())));
  for (const auto& s : held) s->writes_held_until.store(until);
  std::string instance;
  std::function<bool(const std::string&, const std::string&)> own_ack;
  {
    std::lock_guard lock(mutex_);
    held_ = held;
    held_revision_ = revision;
    instance = instance_;
    own_ack = own_ack_;
  }
  const auto give_up_at = steady_ms() + hold_limit;
  for (;;) {
    std::uint32_t in_flight = 0;
    for (const auto& s : held) in_flight += s->writes_in_flight.load();
    if (in_flight == 0) break;
    if (steady_ms() >= give_up_at) {
      log::warn("fleet: writes still in flight at the hold limit; not acknowledging the hold",
                {{"in_flight", std::to_string(in_flight)}});
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (instance.empty()) return;  // not registered: the coordinator does not wait for it
  const std::string hold_id(id->as_string());
  if (coordinator && coordinator->is_string() && coordinator->as_string() == instance && own_ack &&
      own_ack(hold_id, instance))
    return;
  if (ack_url && ack_url->is_string() && !ack_url->as_string().empty() &&
      ack_directly(std::string(ack_url->as_string()), hold_id, instance))
    return;
  // The ack only under the hold it answers: a late one for a hold already gone is not written.
  etcd::txn_request t;
  t.compares.push_back(etcd::mod_is(keys_.barrier(), revision));
  t.success.push_back(etcd::put(keys_.acks_prefix(std::string(id->as_string())) + instance,
                                json::serialize(json::object{{"in_flight", 0}, {"at", now_rfc3339()}})));
  if (auto r = client_.txn(t); !r)
    log::warn("fleet: the hold could not be acknowledged", {{"why", r.error().message}});
}

void barrier_participant::release() {
  std::lock_guard lock(mutex_);
  for (const auto& s : held_) s->writes_held_until.store(0);
  held_.clear();
}

}  // namespace banyan::proxy::fleet
