#include "banyan/proxy/etcd_state_store.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/proxy/route_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace banyan::proxy::fleet {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object plan_json(const plan_progress& p) {
  return {{"name", p.name},           {"document", p.document},
          {"stage", p.stage},         {"applied_at", p.applied_at},
          {"stage_entered_at", p.stage_entered_at}, {"completed_at", p.completed_at}};
}

std::string audit_json(const audit_entry& e, const std::string& at) {
  return json::serialize(json::object{{"at", at},
                                      {"operator", e.operator_name},
                                      {"token_id", e.token_id},
                                      {"action", e.action},
                                      {"target", e.target},
                                      {"before", e.before},
                                      {"after", e.after},
                                      {"reason", e.reason}});
}

std::optional<audit_entry> audit_of(std::int64_t id, std::string_view value) {
  boost::system::error_code ec;
  const auto v = json::parse(value, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  return audit_entry{id,
                     text(o, "at"),
                     text(o, "operator"),
                     text(o, "token_id"),
                     text(o, "action"),
                     text(o, "target"),
                     text(o, "before"),
                     text(o, "after"),
                     text(o, "reason")};
}

std::int64_t number_of(std::string_view s) {
  std::int64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

}  // namespace

std::string encode_state(const state_document& doc) {
  json::array routes;
  for (const auto& r : doc.routing.routes) routes.push_back(route_to_json(r));
  json::object services;
  for (const auto& [name, url] : doc.routing.services) services[name] = url;
  json::object o{{"routes", std::move(routes)}, {"services", std::move(services)}, {"saved_at", now_rfc3339()}};
  if (doc.plan) o["plan"] = plan_json(*doc.plan);
  return json::serialize(o);
}

expected<state_document, std::string> decode_state(std::string_view text_in) {
  boost::system::error_code ec;
  const auto v = json::parse(text_in, ec);
  if (ec || !v.is_object()) return unexpected(std::string("the fleet's state is not a JSON object"));
  const auto& o = v.as_object();
  state_document doc;
  const auto* routes = o.if_contains("routes");
  const auto* services = o.if_contains("services");
  if (!routes || !routes->is_array() || !services || !services->is_object())
    return unexpected(std::string("the fleet's state lacks routes or services"));
  for (std::size_t i = 0; i < routes->as_array().size(); ++i) {
    route r;
    std::vector<std::string> problems;
    if (!route_from_json(routes->as_array()[i], r, problems))
      return unexpected("the fleet's state has a route this version cannot read (routes[" + std::to_string(i) +
                        "]): " + (problems.empty() ? "invalid" : problems.front()));
    doc.routing.routes.push_back(std::move(r));
  }
  for (const auto& kv : services->as_object()) {
    if (!kv.value().is_string()) return unexpected("the fleet's state: service " + std::string(kv.key()) + " has no URL");
    doc.routing.services[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  if (const auto* p = o.if_contains("plan"); p && p->is_object()) {
    const auto& po = p->as_object();
    doc.plan = plan_progress{text(po, "name"),       text(po, "document"),         text(po, "stage"),
                             text(po, "applied_at"), text(po, "stage_entered_at"), text(po, "completed_at")};
  }
  return doc;
}

etcd_state_store::etcd_state_store(std::vector<std::string> endpoints, std::string prefix, etcd_health& health)
    : keys_{std::move(prefix)}, health_(health), client_(std::move(endpoints)) {}

std::string etcd_state_store::where() const {
  std::string list;
  for (const auto& e : client_.endpoints()) list += (list.empty() ? "" : ",") + e;
  return "etcd " + list + " under " + keys_.prefix;
}

template <class T>
T etcd_state_store::checked(expected<T, etcd::error> r) {
  if (!r) {
    if (r.error().what != etcd::error::kind::malformed) health_.failed(r.error().message);
    throw std::runtime_error(r.error().message);
  }
  health_.ok();
  return std::move(*r);
}

std::optional<stored_routing> etcd_state_store::load() {
  std::lock_guard lock(mutex_);
  auto r = checked(client_.range({keys_.state(), {}, false, 0}));
  if (r.kvs.empty()) return std::nullopt;
  auto doc = decode_state(r.kvs.front().value);
  if (!doc) throw std::runtime_error(doc.error());
  state_ = *doc;
  state_revision_ = r.kvs.front().mod_revision;
  auto out = doc->routing;
  out.revision = state_revision_;
  return out;
}

void etcd_state_store::applied(const state_document& doc, std::int64_t revision) {
  std::lock_guard lock(mutex_);
  if (revision <= state_revision_) return;
  state_ = doc;
  state_revision_ = revision;
}

std::int64_t etcd_state_store::applied_revision() {
  std::lock_guard lock(mutex_);
  return state_revision_;
}

void etcd_state_store::forget_revision() {
  std::lock_guard lock(mutex_);
  state_revision_ = 0;
  audit_head_.reset();
  barrier_.reset();
}

std::int64_t etcd_state_store::restore_missing(const audit_entry& entry) {
  std::lock_guard lock(mutex_);
  if (!state_) return 0;
  try {
    return commit(encode_state(*state_), 0, entry);  // only while the key does not exist
  } catch (const state_conflict&) {
    return 0;
  }
}

std::optional<plan_progress> etcd_state_store::plan() {
  std::lock_guard lock(mutex_);
  if (!state_ || !state_->plan) return std::nullopt;
  auto p = *state_->plan;
  p.revision = state_revision_;
  return p;
}

etcd_state_store::audit_head etcd_state_store::audit_head_of(const std::vector<etcd::key_value>& kvs) {
  return kvs.empty() ? audit_head{} : audit_head{number_of(kvs.front().value), kvs.front().mod_revision};
}

std::int64_t etcd_state_store::commit(std::optional<std::string> state_value, std::int64_t based_on,
                                      const audit_entry& entry) {
  const std::string at = now_rfc3339();
  for (int attempt = 0; attempt < 20; ++attempt) {
    // The audit numbers are etcd's too: the head key says the last one given, and the txn that
    // writes the next one compares it, so two instances never give the same number. The head this
    // store saw last (its own commit, a refused txn's answer, a hold's) is tried first: a read
    // before every commit was a round trip inside every write cut-over's hold.
    if (!audit_head_) {
      const auto head = checked(client_.range({keys_.audit_head(), {}, false, 0}));
      audit_head_ = audit_head_of(head.kvs);
    }
    const std::int64_t last = audit_head_->last, head_revision = audit_head_->revision;
    etcd::txn_request t;
    t.compares.push_back(etcd::mod_is(keys_.audit_head(), head_revision));
    if (state_value) {
      t.compares.push_back(etcd::mod_is(keys_.state(), based_on));
      t.success.push_back(etcd::put(keys_.state(), *state_value, 0));
    }
    t.success.push_back(etcd::put(keys_.audit_head(), std::to_string(last + 1), 0));
    t.success.push_back(etcd::put(keys_.audit(last + 1), audit_json(entry, at)));
    const bool switching = state_value && barrier_;
    if (switching) {
      // The switch of a write cut-over: only while its hold stands, and only if no instance joined
      // the fleet since the last look found every one holding these writes. The hold goes with it.
      t.compares.push_back(
          etcd::mod_is(keys_.barrier(), barrier_->revision));
      t.compares.push_back(etcd::all_created_before(keys_.instances_prefix(), etcd::prefix_end(keys_.instances_prefix()),
                                                    barrier_->looked_at + 1));
      t.success.push_back(etcd::remove(keys_.barrier()));
      t.success.push_back(etcd::remove(keys_.acks_prefix(barrier_->id), etcd::prefix_end(keys_.acks_prefix(barrier_->id))));
    }
    t.failure.push_back(etcd::get(keys_.state()));
    t.failure.push_back(etcd::get(keys_.barrier()));
    t.failure.push_back(etcd::get(keys_.audit_head()));
    const auto r = checked(client_.txn(t));
    if (r.succeeded) {
      if (switching) barrier_.reset();
      audit_head_ = audit_head{last + 1, r.header.revision};
      return r.header.revision;
    }
    audit_head_ = r.ranges.size() > 2 ? audit_head_of(r.ranges[2].kvs) : std::optional<audit_head>();
    auto mod_of = [&](std::size_t i) {
      return r.ranges.size() > i && !r.ranges[i].kvs.empty() ? r.ranges[i].kvs.front().mod_revision : 0;
    };
    if (state_value && mod_of(0) != based_on)
      throw state_conflict("the routing changed on another instance of the fleet (state revision " +
                           std::to_string(mod_of(0)) + ", this change was prepared from " + std::to_string(based_on) +
                           "); look again and repeat the change if it still applies");
    // A cut-over the fleet moved under: nothing saved, as for a routing changed elsewhere (409).
    if (switching && mod_of(1) != barrier_->revision)
      throw state_conflict("the fleet's hold on these writes was lost before the switch (this instance's lease "
                           "expired?); nothing changed");
    if (mod_of(2) == head_revision) {
      if (switching)
        throw state_conflict("an instance joined the fleet during the write cut-over and did not say it holds "
                             "these writes; nothing changed, try again");
      throw std::runtime_error("etcd refused the change's txn for no reason it gave");
    }
    // Only the audit head moved: another instance audited something meanwhile. Take the next number.
  }
  throw std::runtime_error("the audit log's head kept moving: 20 attempts to take the next number failed");
}

std::int64_t etcd_state_store::save(const stored_routing& routing, audit_entry entry, const plan_progress* progress,
                                    std::int64_t based_on) {
  std::lock_guard lock(mutex_);
  state_document doc{routing, state_ ? state_->plan : std::nullopt};
  doc.routing.revision = 0;
  if (progress) {
    // The plan's times as the SQLite store keeps them: applied_at while the same plan, the stage's
    // entry while the same stage, the completion only for the stage that completed.
    const std::string now = now_rfc3339();
    const auto& prev = doc.plan;
    plan_progress p = *progress;
    const bool same_plan = prev && prev->name == p.name && prev->document == p.document;
    const bool same_stage = prev && prev->name == p.name && prev->stage == p.stage;
    p.applied_at = same_plan ? prev->applied_at : now;
    p.stage_entered_at = same_stage ? prev->stage_entered_at : now;
    p.completed_at = same_plan && same_stage ? prev->completed_at : std::string();
    doc.plan = std::move(p);
  }
  const auto revision = commit(encode_state(doc), based_on, entry);
  if (revision > state_revision_) {
    state_ = std::move(doc);
    state_revision_ = revision;
  }
  return revision;
}

bool etcd_state_store::complete_plan(audit_entry entry) {
  std::lock_guard lock(mutex_);
  if (!state_ || !state_->plan || !state_->plan->completed_at.empty()) return false;
  state_document doc = *state_;
  doc.plan->completed_at = now_rfc3339();
  const auto revision = commit(encode_state(doc), state_revision_, entry);
  state_ = std::move(doc);
  state_revision_ = revision;
  return true;
}

void etcd_state_store::record(audit_entry entry) {
  std::lock_guard lock(mutex_);
  commit(std::nullopt, 0, entry);
}

std::vector<audit_entry> etcd_state_store::audit(std::int64_t after, int limit) {
  std::lock_guard lock(mutex_);
  const auto r = checked(client_.range({keys_.audit(after + 1), etcd::prefix_end(keys_.audit_prefix()), false, limit}));
  std::vector<audit_entry> out;
  for (const auto& kv : r.kvs) {
    const auto id = number_of(std::string_view(kv.key).substr(keys_.audit_prefix().size()));
    if (auto e = audit_of(id, kv.value)) out.push_back(std::move(*e));
  }
  return out;
}

void etcd_state_store::set_member(std::string instance, std::function<std::int64_t()> lease, std::string admin_url) {
  std::lock_guard lock(mutex_);
  instance_ = std::move(instance);
  lease_ = std::move(lease);
  admin_url_ = std::move(admin_url);
}

bool etcd_state_store::begin(const std::vector<std::string>& routes, std::int64_t based_on,
                             std::chrono::milliseconds hold_limit, std::string& why) {
  std::lock_guard lock(mutex_);
  const std::int64_t lease = lease_ ? lease_() : 0;
  if (instance_.empty() || lease == 0) {
    why = "this instance is not registered in the fleet (etcd unreachable?): it cannot coordinate a write cut-over";
    return false;
  }
  coordinated b;
  b.id = instance_ + "@" + std::to_string(unix_ms());
  b.based_on = based_on;
  json::array list;
  for (const auto& r : routes) list.push_back(json::string(r));
  const std::string doc = json::serialize(json::object{{"id", b.id},
                                                       {"coordinator", instance_},
                                                       {"routes", std::move(list)},
                                                       {"based_on", based_on},
                                                       {"hold_limit_ms", hold_limit.count()},
                                                       {"ack_url", admin_url_},
                                                       {"started_at", now_rfc3339()}});
  // One hold at a time, on the state the change was prepared from; under this instance's lease so
  // that a coordinator that dies cannot leave the fleet's writes held. Acks of older holds go.
  etcd::txn_request t;
  t.compares.push_back(etcd::mod_is(keys_.state(), based_on));
  t.compares.push_back(etcd::created_at(keys_.barrier(), 0));
  t.success.push_back(etcd::remove(keys_.all_acks_prefix(), etcd::prefix_end(keys_.all_acks_prefix())));
  t.success.push_back(etcd::put(keys_.barrier(), doc, lease));
  t.success.push_back(etcd::get(keys_.instances_prefix(), etcd::prefix_end(keys_.instances_prefix())));
  t.failure.push_back(etcd::get(keys_.state()));
  t.failure.push_back(etcd::get(keys_.barrier()));
  auto r = client_.txn(t);
  if (!r) {
    if (r.error().what != etcd::error::kind::malformed) health_.failed(r.error().message);
    why = "the fleet's hold could not be written: " + r.error().message;
    return false;
  }
  health_.ok();
  if (!r->succeeded) {
    if (r->ranges.size() > 1 && !r->ranges[1].kvs.empty()) {
      boost::system::error_code ec;
      const auto other = json::parse(r->ranges[1].kvs.front().value, ec);
      const auto who = !ec && other.is_object() ? text(other.as_object(), "coordinator") : std::string("?");
      why = "another write cut-over is in progress in the fleet (coordinated by " + who + ")";
    } else {
      why = "the routing changed on another instance of the fleet before the cut-over began; look again";
    }
    return false;
  }
  b.revision = r->header.revision;
  b.looked_at = r->header.revision;
  if (!r->ranges.empty())
    for (const auto& kv : r->ranges.front().kvs) b.instances.push_back(kv.key.substr(keys_.instances_prefix().size()));
  // The instances ack directly first: etcd is looked at once the direct acks had their chance.
  b.next_etcd_look = std::chrono::steady_clock::now() + etcd_look_interval;
  barrier_ = std::move(b);
  return true;
}

bool etcd_state_store::acked(const std::string& hold_id, const std::string& instance) {
  std::lock_guard lock(mutex_);
  if (!barrier_ || barrier_->id != hold_id) return false;
  barrier_->acked.insert(instance);
  return true;
}

bool etcd_state_store::drained(std::string& waiting_for) {
  std::lock_guard lock(mutex_);
  if (!barrier_) {
    waiting_for = "no hold";
    return false;
  }
  auto& b = *barrier_;
  const auto now = std::chrono::steady_clock::now();
  // Who has not acked, or (its lease gone, found at the last look at etcd) not for long enough: it
  // stopped forwarding writes before its lease could expire (fleet_member), and the grace covers
  // clocks running at different rates.
  auto waiting = [&] {
    std::string list;
    for (const auto& id : b.instances) {
      if (b.acked.count(id) > 0) continue;
      const auto gone = b.gone_since.find(id);
      if (gone != b.gone_since.end() && now - gone->second >= gone_grace) continue;
      list += (list.empty() ? "" : ", ") + id + (gone != b.gone_since.end() ? " (its lease expired; grace period)" : "");
    }
    return list;
  };
  // Why the acks come to the coordinator rather than through etcd first: an ack written to etcd is
  // a Raft commit and its watch event, 3–4 ms of a hold that lasted 13 ms in all (fleet_bench,
  // three instances, one etcd member on this machine's disk).
  if (now >= b.next_etcd_look) {
    b.next_etcd_look = now + etcd_look_interval;
    etcd::txn_request t;  // both at one revision, linearizable
    t.success.push_back(etcd::get(keys_.acks_prefix(b.id), etcd::prefix_end(keys_.acks_prefix(b.id))));
    t.success.push_back(etcd::get(keys_.instances_prefix(), etcd::prefix_end(keys_.instances_prefix())));
    auto r = client_.txn(t);
    if (!r || r->ranges.size() < 2) {
      waiting_for = "etcd: " + (r ? std::string("a short answer") : r.error().message);
      return false;
    }
    std::set<std::string> present;
    for (const auto& kv : r->ranges[0].kvs) b.acked.insert(kv.key.substr(keys_.acks_prefix(b.id).size()));
    for (const auto& kv : r->ranges[1].kvs) {
      auto id = kv.key.substr(keys_.instances_prefix().size());
      if (std::find(b.instances.begin(), b.instances.end(), id) == b.instances.end()) b.instances.push_back(id);
      present.insert(std::move(id));
    }
    b.looked_at = r->header.revision;
    for (const auto& id : b.instances)
      if (present.count(id) == 0) b.gone_since.try_emplace(id, now);
      else b.gone_since.erase(id);
  }
  // Every instance registered at the hold (or found since) holds these writes. One that joined
  // after the last look makes the switch refuse (its txn compares that none did).
  const auto list = waiting();
  if (list.empty()) return true;
  waiting_for = "instances not yet holding these writes: " + list;
  return false;
}

void etcd_state_store::abandon() {
  std::lock_guard lock(mutex_);
  if (!barrier_) return;
  etcd::txn_request t;
  t.compares.push_back(etcd::mod_is(keys_.barrier(), barrier_->revision));
  t.success.push_back(etcd::remove(keys_.barrier()));
  t.success.push_back(etcd::remove(keys_.acks_prefix(barrier_->id), etcd::prefix_end(keys_.acks_prefix(barrier_->id))));
  const auto r = client_.txn(t);
  // Not taken down (etcd away): it goes with this instance's lease, and every instance's own hold
  // limit fails the held writes meanwhile rather than sending them anywhere.
  if (!r) log::warn("fleet: the write cut-over's hold could not be taken down", {{"why", r.error().message}});
  barrier_.reset();
}

bool etcd_state_store::writable(std::string& why) {
  if (health_.reachable) return true;
  why = "etcd cannot be reached or has no quorum (" + health_.error() + ")";
  return false;
}

}  // namespace banyan::proxy::fleet
