#include "banyan/proxy/health_checker.hpp"
#include "banyan/proxy/cutover_barrier.hpp"
#include "banyan/platform/clock.hpp"

#include "banyan/platform/http_client.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/proxy/upstream_url.hpp"

#include <algorithm>
#include <chrono>
#include <map>

namespace banyan::proxy {

namespace {

std::string origin(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

http::client client_for(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  http::client_options o;
  o.connect_timeout = timeout;
  o.timeout = timeout;
  o.body_limit = 1024 * 1024;
  o.user_agent = "banyan-health";
  return http::client(origin(host, port), o);
}


}  // namespace

bool probe_health(const std::string& host, std::uint16_t port, const std::string& path,
                  std::chrono::milliseconds timeout) {
  auto c = client_for(host, port, timeout);
  const auto r = c.get(path);
  return r && r->status >= 200 && r->status < 400;
}

upstream::sync_sample probe_sync(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  upstream::sync_sample s;
  s.probed = true;
  s.sampled_ms = unix_ms();
  auto c = client_for(host, port, timeout);
  const auto r = c.get("/internal/sync");
  if (!r) {
    s.problem = r.error().message;
  } else if (r->status == 404) {
    s.problem = "it does not answer GET /internal/sync (404): it publishes no sync status";
  } else if (r->status != 200) {
    s.problem = "GET /internal/sync answered " + std::to_string(r->status);
  } else if (auto status = sync::parse_sync_status(r->body); !status) {
    s.problem = status.error();
  } else {
    s.answered = true;
    s.status = std::move(*status);
  }
  return s;
}

health_checker::health_checker(routing_state& state, health_check_options options)
    : state_(state), options_(std::move(options)) {
  if (!options_.path.empty()) thread_ = std::thread([this] { run(); });
}

health_checker::~health_checker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

upstream::sync_sample health_checker::sample_sync(const upstream& u) const {
  const auto& data = state_.data_urls();
  const auto it = data.find(u.name);
  if (it == data.end()) return probe_sync(u.host, u.port, options_.timeout);
  // Its data speaks elsewhere (banyan-sync on its database).
  std::string host, why;
  std::uint16_t port = 0;
  if (split_upstream_url(it->second, host, port, why)) return probe_sync(host, port, options_.timeout);
  upstream::sync_sample s;
  s.probed = true;
  s.sampled_ms = unix_ms();
  s.problem = "data URL " + it->second + ": " + why;
  return s;
}

void health_checker::run() {
  std::map<const upstream*, int> failures;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (const auto snap = state_.load()) {
      std::map<const upstream*, bool> seen;  // a service behind several routes is probed once
      for (const auto& u : snap->service_of) {
        if (!u || seen[u.get()]) continue;
        seen[u.get()] = true;
        // A change of health changes where traffic goes (canary and service routes fall back to
        // the monolith): it is logged, never silent.
        if (probe_health(u->host, u->port, options_.path, options_.timeout)) {
          failures[u.get()] = 0;
          if (!u->healthy.exchange(true, std::memory_order_relaxed))
            log::info("service healthy again: its routes get traffic", {{"service", u->name}, {"url", u->url}});
        } else if (++failures[u.get()] >= options_.unhealthy_after) {
          if (u->healthy.exchange(false, std::memory_order_relaxed))
            log::warn("service unhealthy: its canary and service routes are served by the monolith until it "
                      "answers its health check",
                      {{"service", u->name}, {"url", u->url}, {"health_path", options_.path},
                       {"failed_checks", failures[u.get()]}});
        }
        u->set_sync(sample_sync(*u));
      }
      // Once a service owns a route's writes, the monolith follows that service's feed back:
      // its sync is what the route's sync_lag gate reads (admin_api's evidence).
      const bool reverse = std::any_of(snap->table->routes().begin(), snap->table->routes().end(),
                                       [](const route& r) { return takes_writes(r) && write_owner(r) != "monolith"; });
      if (reverse && snap->monolith)
        snap->monolith->set_sync(sample_sync(*snap->monolith));
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace banyan::proxy
