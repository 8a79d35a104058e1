#include "banyan/proxy/fleet_follower.hpp"

#include "banyan/platform/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace banyan::proxy::fleet {

fleet_follower::fleet_follower(std::vector<std::string> endpoints, etcd_state_store& store, routing_state& routing,
                               std::string monolith_url, etcd_health& health, std::string local_copy,
                               barrier_participant& participant)
    : endpoints_(std::move(endpoints)),
      store_(store),
      routing_(routing),
      monolith_url_(std::move(monolith_url)),
      health_(health),
      local_copy_(std::move(local_copy)),
      participant_(participant) {}

fleet_follower::~fleet_follower() { stop(); }

bool fleet_follower::install(const state_document& doc, std::int64_t revision, std::string& why) {
  std::vector<route_error> errors;
  auto snap = routing_.prepare(doc.routing.routes, doc.routing.services, monolith_url_, errors);
  if (!snap) {
    why = "cannot serve the fleet's state at revision " + std::to_string(revision) + ":";
    for (const auto& e : errors) why += " " + (e.route_id.empty() ? "" : e.route_id + ": ") + e.message + ";";
    if (!errors.empty()) why.pop_back();
    std::lock_guard lock(mutex_);
    problem_ = not_serving_ = why;
    return false;
  }
  snap->state_revision = revision;
  routing_.commit(snap);  // false when this instance's own change installed it first
  store_.applied(doc, revision);
  {
    std::lock_guard lock(mutex_);
    applied_ = std::max(applied_, revision);
    problem_.clear();
    not_serving_.clear();
  }
  if (!local_copy_.empty()) {
    // The copy an instance may be told to start from while etcd is away: the whole document and
    // its revision, replaced atomically.
    const auto tmp = local_copy_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << boost::json::serialize(boost::json::object{{"revision", revision}, {"state", encode_state(doc)}});
    }
    std::error_code ec;
    std::filesystem::rename(tmp, local_copy_, ec);
    if (ec) log::warn("fleet: cannot keep a local copy of the routing", {{"path", local_copy_}, {"why", ec.message()}});
  }
  return true;
}

bool fleet_follower::read_local_copy(const std::string& path, state_document& doc, std::int64_t& revision,
                                     std::string& why) {
  std::ifstream in(path);
  if (!in) {
    why = "no local copy at " + path + " (an instance keeps one once it has applied the fleet's state)";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto v = boost::json::parse(text.str(), ec);
  const auto* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  const auto* rev = o ? o->if_contains("revision") : nullptr;
  const auto* state = o ? o->if_contains("state") : nullptr;
  if (!rev || !rev->is_int64() || !state || !state->is_string()) {
    why = "the local copy " + path + " is not one banyan-proxy wrote";
    return false;
  }
  auto d = decode_state(state->as_string());
  if (!d) {
    why = path + ": " + d.error();
    return false;
  }
  doc = std::move(*d);
  revision = rev->as_int64();
  return true;
}

void fleet_follower::start() {
  {
    etcd::client c(endpoints_);
    std::string why;
    if (!read(c, why)) health_.failed(why);  // the thread reads again until etcd answers
  }
  thread_ = std::thread([this] { run(); });
}

bool fleet_follower::read(etcd::client& c, std::string& why) {
  const auto key = store_.fleet_keys().state();
  etcd::txn_request t;  // the state and the hold at one revision
  t.success.push_back(etcd::get(key));
  t.success.push_back(etcd::get(store_.fleet_keys().barrier()));
  auto r = c.txn(t);
  if (!r || r->ranges.size() < 2) {
    why = r ? "a short answer to a read of the state" : r.error().message;
    return false;
  }
  health_.ok();
  bool new_history = false;
  {
    std::lock_guard lock(mutex_);
    new_history = (!cluster_id_.empty() && cluster_id_ != r->header.cluster_id) || r->header.revision < applied_;
  }
  if (new_history) {
    // Another cluster (restored from a backup, or replaced): its revisions are not ours. What it
    // holds is taken as it is, whatever its revision.
    log::warn("fleet: etcd is another cluster now; taking its state as it is", {{"cluster", r->header.cluster_id}});
    routing_.forget_state_revision();
    store_.forget_revision();
    participant_.release();
    std::lock_guard lock(mutex_);
    applied_ = 0;
    barrier_seen_ = 0;
  }
  const auto& state = r->ranges[0].kvs;
  const auto& hold = r->ranges[1].kvs;
  if (state.empty()) {
    // A new or emptied cluster: the routing in force is written back (by one instance: the txn
    // wants the key absent), and comes back to every instance through the watch.
    audit_entry entry{0, {}, "banyan-proxy", "-", "fleet.restore", "*", "{}", "{}",
                      "the fleet's state was missing from etcd (a new or emptied cluster); written back from the "
                      "routing an instance served"};
    const auto restored = store_.restore_missing(entry);
    if (restored > 0) log::warn("fleet: the state was missing from etcd; wrote back the routing in force", {});
    std::lock_guard lock(mutex_);
    if (restored == 0 && applied_ == 0)
      problem_ = "the fleet's state key " + key + " is missing from etcd; serving the routing applied last";
  } else if (state.front().mod_revision > applied()) {
    carry_out({watch_action::kind::apply_state, state.front()});
  }
  std::int64_t seen = 0;
  {
    std::lock_guard lock(mutex_);
    seen = barrier_seen_;
  }
  if (!hold.empty() && hold.front().mod_revision > seen) {
    carry_out({watch_action::kind::hold, hold.front()});
  } else if (hold.empty() && participant_.held_revision() > 0) {
    carry_out({watch_action::kind::release, {}});
  }
  std::lock_guard lock(mutex_);
  watch_from_ = r->header.revision + 1;
  cluster_id_ = r->header.cluster_id;
  return true;
}

void fleet_follower::carry_out(const watch_action& a) {
  switch (a.what) {
    case watch_action::kind::apply_state: {
      auto doc = decode_state(a.kv.value);
      std::string why;
      if (!doc) why = doc.error();
      else install(*doc, a.kv.mod_revision, why);
      if (!why.empty()) {
        log::error("fleet: cannot apply the state", {{"why", why}});
        std::lock_guard lock(mutex_);
        problem_ = why;
      }
      break;
    }
    case watch_action::kind::state_deleted: {
      log::error("fleet: the state was deleted from etcd; serving the routing applied last",
                 {{"key", store_.fleet_keys().state()}});
      std::lock_guard lock(mutex_);
      problem_ = "the fleet's state key was deleted at revision " + std::to_string(a.kv.mod_revision) +
                 "; serving the routing applied last";
      break;
    }
    case watch_action::kind::hold:
      participant_.hold(a.kv.value, a.kv.mod_revision);
      break;
    case watch_action::kind::release:
      participant_.release();
      break;
  }
  if (a.what == watch_action::kind::hold || a.what == watch_action::kind::release) {
    std::lock_guard lock(mutex_);
    barrier_seen_ = std::max(barrier_seen_, a.kv.mod_revision);
  }
}

void fleet_follower::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void fleet_follower::rewatch() {
  std::lock_guard lock(mutex_);
  rewatch_ = true;
}

std::int64_t fleet_follower::applied() const {
  std::lock_guard lock(mutex_);
  return applied_;
}

std::string fleet_follower::problem() const {
  std::lock_guard lock(mutex_);
  return problem_;
}

std::string fleet_follower::not_serving() const {
  std::lock_guard lock(mutex_);
  return not_serving_;
}

bool fleet_follower::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

void fleet_follower::run() {
  etcd::client client(endpoints_);
  const auto& k = store_.fleet_keys();
  auto backoff = std::chrono::milliseconds(100);
  auto failed = [&](const std::string& why) {
    health_.failed(why);
    const bool go_on = sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    return go_on;
  };
  for (;;) {
    std::int64_t from = 0;
    std::string cluster;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      from = watch_from_;
      cluster = cluster_id_;
      rewatch_ = false;
    }
    if (from == 0) {
      // A watch that cannot resume starts again from one linearizable read of two keys.
      std::string why;
      if (!read(client, why) && !failed(why)) return;
      backoff = std::chrono::milliseconds(100);
      continue;
    }
    bool reread = false;
    auto on_response = [&](const etcd::watch_response& w) {
      health_.ok();
      backoff = std::chrono::milliseconds(100);
      std::int64_t seen = 0;
      {
        std::lock_guard lock(mutex_);
        seen = barrier_seen_;
      }
      const auto steps = next_watch_steps(w, cluster, applied(), seen, k);
      if (steps.reread) {
        log::warn("fleet: reading the state again", {{"why", steps.why}});
        reread = true;
        return false;
      }
      for (const auto& a : steps.actions) carry_out(a);
      std::lock_guard lock(mutex_);
      if (steps.resume_after > 0) watch_from_ = std::max(watch_from_, steps.resume_after + 1);
      if (cluster_id_.empty() && !w.header.cluster_id.empty()) cluster_id_ = cluster = w.header.cluster_id;
      return true;
    };
    auto keep_going = [&] {
      std::lock_guard lock(mutex_);
      return !stopping_ && !rewatch_;
    };
    // One watch over the hold, the acks, the instances and the state (they sort in that order
    // under the prefix); only the hold and the state mean anything here. Progress notes keep a
    // quiet watch talking (etcd sends one every 10 minutes); past 11 minutes of silence the stream
    // is taken as broken. An outage is noticed sooner by the lease's keepalives, which then ask
    // for a new watch (rewatch).
    auto res = client.watch({k.barrier(), etcd::prefix_end(k.state()), from, true}, on_response, keep_going,
                            std::chrono::minutes(11));
    if (reread) {
      std::lock_guard lock(mutex_);
      watch_from_ = 0;
      continue;
    }
    if (!res && !failed(res.error().message)) return;
  }
}

}  // namespace banyan::proxy::fleet
