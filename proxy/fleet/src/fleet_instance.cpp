#include "banyan/proxy/fleet_instance.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"

#include <filesystem>

namespace banyan::proxy::fleet {

fleet_instance::fleet_instance(instance_options o, routing_state& routing, const stored_routing& bootstrap,
                               const audit_entry& bootstrap_entry) {
  const keys k{o.prefix};
  const auto copy = (std::filesystem::path(o.state_dir) / "fleet-routing.json").string();
  store_ = std::make_unique<etcd_state_store>(o.endpoints, o.prefix, health_);
  participant_ = std::make_unique<barrier_participant>(o.endpoints, k, routing, o.admin_token);
  follower_ = std::make_unique<fleet_follower>(o.endpoints, *store_, routing, o.monolith_url, health_, copy,
                                               *participant_);
  state_document doc;
  std::int64_t revision = 0;
  std::string unreachable;
  try {
    auto saved = store_->load();
    if (!saved) {
      // The fleet's first instance writes the routing of its configuration; another starting at
      // the same moment loses the txn and takes what the first wrote.
      try {
        store_->save(bootstrap, bootstrap_entry, nullptr, 0);
      } catch (const state_conflict&) {
      }
      saved = store_->load();
    }
    if (!saved) throw std::runtime_error("the fleet's state vanished from etcd while this instance started");
    doc.routing = *saved;
    doc.plan = store_->plan();
    revision = saved->revision;
  } catch (const state_conflict&) {
    throw;
  } catch (const std::exception& e) {
    unreachable = e.what();
  }
  if (!unreachable.empty()) {
    if (!o.start_from_local_copy)
      throw std::runtime_error("etcd cannot be read (" + unreachable +
                               "); refusing to start with stale or empty routing. To serve the routing this "
                               "instance applied last, set etcd: {start_from_local_copy: true}");
    std::string why;
    if (!fleet_follower::read_local_copy(copy, doc, revision, why))
      throw std::runtime_error("etcd cannot be read (" + unreachable + ") and " + why);
    log::warn("fleet: etcd cannot be read; serving the local copy of the routing until it answers",
              {{"revision", std::to_string(revision)}, {"copy", copy}, {"why", unreachable}});
    health_.failed(unreachable);
  }
  if (std::string why; !follower_->install(doc, revision, why)) throw std::runtime_error(why);
  member_ = std::make_unique<fleet_member>(o.endpoints, k, instance_info{o.name, {}, {}, o.version, now_rfc3339()},
                                           std::chrono::seconds(10), health_, *follower_, routing);
  if (!unreachable.empty()) member_->allow_starting_unregistered();
}

fleet_instance::~fleet_instance() { stop(); }

void fleet_instance::start(const std::string& admin_url, const std::string& proxy_url) {
  follower_->start();
  member_->start(admin_url, proxy_url);
  participant_->set_instance(member_->id(), [s = store_.get()](const std::string& hold, const std::string& instance) {
    return s->acked(hold, instance);
  });
  store_->set_member(member_->id(), [m = member_.get()] { return m->lease(); }, admin_url);
}

void fleet_instance::stop() {
  if (member_) member_->stop();
  if (follower_) follower_->stop();
}

}  // namespace banyan::proxy::fleet
