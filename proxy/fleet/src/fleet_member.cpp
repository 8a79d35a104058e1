#include "banyan/proxy/fleet_member.hpp"

#include "banyan/platform/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <limits>

namespace banyan::proxy::fleet {

namespace json = boost::json;

fleet_member::fleet_member(std::vector<std::string> endpoints, keys k, instance_info self, std::chrono::seconds ttl,
                           etcd_health& health, fleet_follower& follower, routing_state& routing)
    : endpoints_(std::move(endpoints)),
      keys_(std::move(k)),
      self_(std::move(self)),
      ttl_(ttl),
      health_(health),
      follower_(follower),
      routing_(routing) {
  routing_.set_write_deadline(0);  // no write is forwarded before the lease is trusted
}

void fleet_member::trust_from(std::chrono::steady_clock::time_point sent) {
  const auto until = lease_trust_deadline(sent, ttl_);
  {
    std::lock_guard lock(mutex_);
    trusted_until_ = until;
    last_renewal_sent_ = sent;
    // Registered (again) at a state this instance has not applied yet: a write cut-over may have
    // switched without it meanwhile. Writes wait until the follower has caught up.
    if (follower_.applied() < catch_up_to_) return;
    catch_up_to_ = 0;
  }
  routing_.set_write_deadline(
      std::chrono::duration_cast<std::chrono::milliseconds>(until.time_since_epoch()).count());
}

std::int64_t fleet_member::lease() const {
  std::lock_guard lock(mutex_);
  return lease_;
}

fleet_member::~fleet_member() { stop(); }

bool fleet_member::put_record(etcd::client& c, std::int64_t applied, std::string& why) {
  const std::string key = keys_.instance(self_.id);
  const std::string value = json::serialize(json::object{{"id", self_.id},
                                                         {"admin", self_.admin_url},
                                                         {"proxy", self_.proxy_url},
                                                         {"version", self_.version},
                                                         {"started_at", self_.started_at},
                                                         {"applied_revision", applied},
                                                         {"lease", lease_}});
  // The record is ours when absent or under our lease; another live instance's is left alone.
  etcd::txn_request t;
  t.compares.push_back(etcd::created_at(key, 0));
  t.success.push_back(etcd::put(key, value, lease_));
  t.success.push_back(etcd::get(keys_.state()));
  t.failure.push_back(etcd::get(key));
  auto r = c.txn(t);
  if (!r) {
    why = r.error().message;
    return false;
  }
  auto state_revision = [](const etcd::txn_response& x) {
    return !x.ranges.empty() && !x.ranges.back().kvs.empty() ? x.ranges.back().kvs.front().mod_revision : 0;
  };
  if (r->succeeded) {
    state_at_registration_ = state_revision(*r);
    return true;
  }
  if (!r->ranges.empty() && !r->ranges.front().kvs.empty() && r->ranges.front().kvs.front().lease == lease_) {
    auto again = c.txn({{}, {etcd::put(key, value, lease_), etcd::get(keys_.state())}, {}});
    if (again) {
      state_at_registration_ = state_revision(*again);
      return true;
    }
    why = again.error().message;
    return false;
  }
  why = "another live instance is registered as '" + self_.id + "' (give each instance its own etcd: {instance: NAME})";
  return false;
}

void fleet_member::start(std::string admin_url, std::string proxy_url) {
  self_.admin_url = std::move(admin_url);
  self_.proxy_url = std::move(proxy_url);
  if (self_.id.empty()) {
    // The host and the admin port: unique per machine, and what an operator would look for.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    self_.id = std::string(host) + ":" + self_.admin_url.substr(self_.admin_url.rfind(':') + 1);
  }
  etcd::client c(endpoints_);
  const auto sent = std::chrono::steady_clock::now();
  auto lease = c.lease_grant(ttl_.count());
  if (!lease && started_unregistered_) {
    // Told to start from the local copy while etcd is away: serve reads, forward no write, and
    // register (on the thread) once etcd answers.
    log::warn("fleet: not registered yet (etcd cannot be reached); writes wait until it is", {{"why", lease.error().message}});
    {
      std::lock_guard lock(mutex_);
      catch_up_to_ = std::numeric_limits<std::int64_t>::max();
    }
    thread_ = std::thread([this] { run(); });
    return;
  }
  if (!lease) throw std::runtime_error("cannot register in the fleet: " + lease.error().message);
  std::string why;
  {
    std::lock_guard lock(mutex_);
    lease_ = lease->id;
  }
  const auto applied = follower_.applied();
  if (!put_record(c, applied, why)) {
    (void)c.lease_revoke(lease->id);
    throw std::runtime_error("cannot register in the fleet: " + why);
  }
  {
    std::lock_guard lock(mutex_);
    registered_applied_ = applied;
    catch_up_to_ = state_at_registration_;
  }
  // Writes are forwarded once the lease is trusted and the follower serves the state the fleet
  // had when this instance registered (it is in every later barrier's count from then on).
  for (int i = 0; i < 200 && follower_.applied() < state_at_registration_; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  trust_from(sent);
  thread_ = std::thread([this] { run(); });
}

void fleet_member::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::int64_t lease = 0;
  {
    std::lock_guard lock(mutex_);
    lease = lease_;
  }
  if (lease) {
    // Leaving: the record goes at once rather than at the lease's end.
    etcd::client_options o;
    o.timeout = std::chrono::milliseconds(1000);
    etcd::client c(endpoints_, o);
    (void)c.lease_revoke(lease);
  }
}

void fleet_member::run() {
  etcd::client c(endpoints_);
  // A keepalive every third of the TTL, and a look at the applied revision every 200 ms so that
  // `banyan fleet` shows a change reaching each instance without waiting for the next keepalive.
  const auto every = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(500), ttl_ / 3);
  auto next_keepalive = std::chrono::steady_clock::now() + every;
  bool was_down = false;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::int64_t lease = 0, registered = 0;
    {
      std::lock_guard lock(mutex_);
      lease = lease_;
      registered = registered_applied_;
    }
    const auto applied = follower_.applied();
    if (now < next_keepalive && applied == registered && lease != 0) continue;
    std::string why;
    if (lease != 0 && now >= next_keepalive) {
      auto ttl = c.lease_keepalive(lease);
      if (!ttl) {
        why = ttl.error().message;
      } else if (*ttl > 0) {
        trust_from(now);
      } else {
        // Expired at the server (the instance was away longer than the TTL): a new lease, and the
        // record again under it.
        log::warn("fleet: the lease expired; registering again", {{"instance", self_.id}});
        lease = 0;
      }
      next_keepalive = now + every;
    }
    if (why.empty() && lease == 0) {
      auto granted = c.lease_grant(ttl_.count());
      if (!granted) {
        why = granted.error().message;
      } else {
        {
          std::lock_guard lock(mutex_);
          lease_ = lease = granted->id;
          registered_applied_ = registered = -1;
          catch_up_to_ = std::numeric_limits<std::int64_t>::max();  // until the record says where the fleet is
        }
        trust_from(now);
      }
    }
    if (why.empty() && applied != registered) {
      const bool again = registered < 0;  // a new lease: a new record, maybe a state not applied yet
      if (put_record(c, applied, why)) {
        std::lock_guard lock(mutex_);
        registered_applied_ = applied;
        if (again) catch_up_to_ = state_at_registration_;
      }
    }
    {
      std::int64_t target = 0;
      std::chrono::steady_clock::time_point sent;
      {
        std::lock_guard lock(mutex_);
        target = catch_up_to_;
        sent = last_renewal_sent_;
      }
      if (target != 0 && follower_.applied() >= target) trust_from(sent);
    }
    if (!why.empty()) {
      if (!was_down) log::warn("fleet: etcd cannot be reached; serving the routing applied last", {{"why", why}});
      health_.failed(why);
      was_down = true;
      // Look again soon, but never later than planned: a record that cannot be put (its lease
      // unknown to a new cluster) must not put off the keepalive that finds out.
      next_keepalive = std::min(next_keepalive, now + std::chrono::milliseconds(500));
      std::lock_guard lock(mutex_);
      last_problem_ = why;
      continue;
    }
    health_.ok();
    if (was_down) {
      log::info("fleet: etcd answers again", {{"instance", self_.id}});
      follower_.rewatch();  // its stream may have broken without a word
      was_down = false;
    }
  }
}

bool fleet_member::lease_trusted() const {
  std::lock_guard lock(mutex_);
  return std::chrono::steady_clock::now() < trusted_until_;
}

json::object fleet_member::status() {
  std::string problem;
  std::int64_t lease = 0;
  {
    std::lock_guard lock(mutex_);
    lease = lease_;
  }
  json::object o{{"instance", self_.id},
                 {"etcd", health_.reachable ? "reachable" : "unreachable"},
                 {"applied_revision", follower_.applied()},
                 {"lease", lease},
                 {"lease_trusted", lease_trusted()}};
  if (!health_.reachable) o["etcd_error"] = health_.error();
  if (const auto p = follower_.problem(); !p.empty()) o["problem"] = p;
  return o;
}

expected<json::object, std::string> fleet_member::instances() {
  etcd::client_options opt;
  opt.timeout = std::chrono::milliseconds(2000);
  etcd::client c(endpoints_, opt);
  etcd::txn_request t;  // both reads at one revision
  t.success.push_back(etcd::get(keys_.instances_prefix(), etcd::prefix_end(keys_.instances_prefix())));
  t.success.push_back(etcd::get(keys_.state()));
  auto r = c.txn(t);
  if (!r) return unexpected(r.error().message);
  json::array list;
  if (!r->ranges.empty())
    for (const auto& kv : r->ranges[0].kvs) {
      boost::system::error_code ec;
      auto v = json::parse(kv.value, ec);
      if (!ec && v.is_object()) list.push_back(std::move(v));
    }
  std::int64_t state = 0;
  if (r->ranges.size() > 1 && !r->ranges[1].kvs.empty()) state = r->ranges[1].kvs.front().mod_revision;
  return json::object{{"state_revision", state}, {"instances", std::move(list)}, {"this", self_.id}};
}

std::string fleet_member::not_serving_reason() { return follower_.not_serving(); }

}  // namespace banyan::proxy::fleet
