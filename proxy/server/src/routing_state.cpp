#include "banyan/proxy/routing_state.hpp"

#include "banyan/proxy/upstream_url.hpp"

#include "banyan/shadow/compare.hpp"
#include "banyan/shadow/latency_buckets.hpp"

#include <boost/url/parse.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdexcept>

namespace banyan::proxy {

bool circuit_breaker::allow(std::int64_t now_ms) noexcept {
  const auto opened = opened_at_.load(std::memory_order_relaxed);
  if (opened < 0) return true;
  if (now_ms - opened < settings_.open_ms) return false;
  bool expected = false;  // half-open: exactly one probe
  return probing_.compare_exchange_strong(expected, true);
}

void circuit_breaker::count(std::int64_t now_ms, bool failed) noexcept {
  auto start = window_start_.load(std::memory_order_relaxed);
  if (now_ms - start >= settings_.window_ms &&
      window_start_.compare_exchange_strong(start, now_ms, std::memory_order_relaxed)) {
    window_requests_.store(0, std::memory_order_relaxed);
    window_failures_.store(0, std::memory_order_relaxed);
  }
  window_requests_.fetch_add(1, std::memory_order_relaxed);
  if (failed) window_failures_.fetch_add(1, std::memory_order_relaxed);
}

void circuit_breaker::open(std::int64_t now_ms) noexcept {
  opened_at_.store(now_ms, std::memory_order_relaxed);
  probing_.store(false, std::memory_order_relaxed);
  window_requests_.store(0, std::memory_order_relaxed);  // a new judgement after the probe
  window_failures_.store(0, std::memory_order_relaxed);
}

void circuit_breaker::on_success(std::int64_t now_ms) noexcept {
  count(now_ms, false);
  failures_.store(0, std::memory_order_relaxed);
  opened_at_.store(-1, std::memory_order_relaxed);
  probing_.store(false, std::memory_order_relaxed);
}

void circuit_breaker::on_failure(std::int64_t now_ms) noexcept {
  count(now_ms, true);
  const int n = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  const int requests = window_requests_.load(std::memory_order_relaxed);
  const int failed = window_failures_.load(std::memory_order_relaxed);
  const bool rate_breached = requests >= settings_.min_requests &&
                             static_cast<double>(failed) >= settings_.error_rate * static_cast<double>(requests);
  if (n >= settings_.failure_threshold || rate_breached || probing_.load(std::memory_order_relaxed)) open(now_ms);
}

circuit_breaker::state circuit_breaker::current(std::int64_t now_ms) const noexcept {
  const auto opened = opened_at_.load(std::memory_order_relaxed);
  if (opened < 0) return state::closed;
  return now_ms - opened < settings_.open_ms ? state::open : state::half_open;
}

void route_stats::record(route_mode mode, bool service, int status, double seconds) noexcept {
  const std::size_t cls = status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100) : 0;
  const std::size_t kind = service ? 1 : 0;
  requests[(static_cast<std::size_t>(mode) * upstream_kinds + kind) * classes + cls].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < bounds.size() && seconds > bounds[b]) ++b;
  latency_buckets[kind * (bounds.size() + 1) + b].fetch_add(1, std::memory_order_relaxed);
  latency_count[kind].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us[kind].fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  latency_fine[kind * fine_buckets + static_cast<std::size_t>(shadow::latency_bucket(seconds * 1000.0))].fetch_add(
      1, std::memory_order_relaxed);
}


bool resolve_upstream_url(const std::string& url, std::string& host, std::uint16_t& port, std::string& why) {
  std::string name;
  if (!split_upstream_url(url, name, port, why)) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res); rc != 0) {
    why = "cannot resolve upstream host '" + name + "': " + gai_strerror(rc);
    return false;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (res->ai_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, buf, sizeof buf);
  freeaddrinfo(res);
  host = buf;
  return true;
}

bool same_listener(const std::string& a, const std::string& b) {
  std::string ha, hb, why;
  std::uint16_t pa = 0, pb = 0;
  if (!resolve_upstream_url(a, ha, pa, why) || !resolve_upstream_url(b, hb, pb, why) || pa != pb) return false;
  auto loopback = [](const std::string& h) { return h == "::1" || h.starts_with("127."); };
  return ha == hb || (loopback(ha) && loopback(hb));
}

namespace {
// The throwing form, for preparing a snapshot.
void resolve(const std::string& url, std::string& host, std::uint16_t& port) {
  if (std::string why; !resolve_upstream_url(url, host, port, why)) throw std::invalid_argument(why);
}
}  // namespace

std::string routing_state::data_url(const std::string& owner, const routing_snapshot& snap) const {
  if (const auto it = data_urls_.find(owner); it != data_urls_.end()) return it->second;
  if (owner == "monolith") return snap.monolith ? snap.monolith->url : std::string();
  const auto it = snap.services.find(owner);
  return it == snap.services.end() ? std::string() : it->second;
}

std::shared_ptr<upstream> routing_state::upstream_for(const std::string& name, const std::string& url) {
  std::string host;
  std::uint16_t port = 0;
  resolve(url, host, port);
  std::lock_guard lock(mutex_);
  for (const auto& u : upstreams_)
    if (u->name == name && u->url == url) return u;
  auto u = std::make_shared<upstream>(static_cast<std::uint32_t>(upstreams_.size()), name, url, host, port, breakers_);
  upstreams_.push_back(u);
  return u;
}

std::shared_ptr<route_stats> routing_state::stats_for(const std::string& route_id) {
  std::lock_guard lock(mutex_);
  auto& slot = stats_[route_id];
  if (!slot) slot = std::make_shared<route_stats>(route_id);
  return slot;
}

std::vector<std::shared_ptr<route_stats>> routing_state::all_stats() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<route_stats>> out;
  for (const auto& [id, s] : stats_) out.push_back(s);
  return out;
}

std::vector<std::shared_ptr<upstream>> routing_state::upstreams() const {
  std::lock_guard lock(mutex_);
  return upstreams_;
}

std::shared_ptr<routing_snapshot> routing_state::prepare(std::vector<route> routes,
                                                         const std::map<std::string, std::string>& services,
                                                         const std::string& monolith_url,
                                                         std::vector<route_error>& errors) {
  auto snap = std::make_shared<routing_snapshot>();
  try {
    snap->monolith = upstream_for("monolith", monolith_url);
  } catch (const std::invalid_argument& e) {
    errors.push_back({"", std::string("monolith: ") + e.what()});
    return nullptr;
  }
  for (const auto& r : routes) {
    if (r.service.empty()) continue;
    if (!services.contains(r.service)) errors.push_back({r.id, "unknown service '" + r.service + "'"});
  }
  if (!errors.empty()) return nullptr;
  snap->table = route_table::build(std::move(routes), errors);
  if (!snap->table) return nullptr;
  for (const auto& r : snap->table->routes()) {
    std::shared_ptr<upstream> u;
    if (!r.service.empty()) {
      try {
        u = upstream_for(r.service, services.at(r.service));
      } catch (const std::invalid_argument& e) {
        errors.push_back({r.id, e.what()});
      }
    }
    snap->service_of.push_back(std::move(u));
  }
  if (!errors.empty()) return nullptr;
  snap->services = services;
  for (const auto& r : snap->table->routes()) {
    snap->stats_of.push_back(stats_for(r.id));
    auto rules = std::make_shared<shadow::compare_rules>();
    std::vector<std::string> problems;
    if (!shadow::compare_rules::compile(r.shadow.compare, *rules, problems))
      for (auto& p : problems) errors.push_back({r.id, std::move(p)});
    snap->rules_of.push_back(std::move(rules));
  }
  if (!errors.empty()) return nullptr;
  snap->unmatched = stats_for("");  // "" cannot be a route id
  return snap;
}

void routing_state::store(std::shared_ptr<const routing_snapshot> s) noexcept {
  const auto version = s->version;
  current_.store(std::move(s), std::memory_order_release);
  live_version_.store(version);  // after the snapshot: see live_version()
}

bool routing_state::commit(std::shared_ptr<routing_snapshot> snap) {
  std::lock_guard lock(mutex_);
  if (snap->state_revision != 0) {
    if (snap->state_revision <= revision_floor_) return false;
    revision_floor_ = snap->state_revision;
  }
  snap->version = ++version_;
  store(std::move(snap));
  return true;
}

void routing_state::forget_state_revision() {
  std::lock_guard lock(mutex_);
  revision_floor_ = 0;
}

bool routing_state::install(std::vector<route> routes, const std::map<std::string, std::string>& services,
                            const std::string& monolith_url, std::vector<route_error>& errors) {
  auto snap = prepare(std::move(routes), services, monolith_url, errors);
  if (!snap) return false;
  commit(std::move(snap));
  return true;
}

}  // namespace banyan::proxy
