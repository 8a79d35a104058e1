#include "banyan/proxy/cutover_barrier.hpp"

#include "banyan/proxy/bucket.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace banyan::proxy {

bool is_write_method(std::string_view m) noexcept { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE"; }

bool takes_writes(const route& r) {
  return r.methods.empty() || std::any_of(r.methods.begin(), r.methods.end(), [](const std::string& m) {
           return is_write_method(m);
         });
}

write_ownership write_ownership_of(const route& r) {
  switch (r.mode) {
    case route_mode::monolith:
    case route_mode::shadow:
      return {{"monolith"}, 0};
    case route_mode::service:
      return {{r.service}, 10000};
    case route_mode::canary:
      if (r.percent_bp == 0) return {{"monolith"}, 0};
      if (r.percent_bp >= bucket_count) return {{r.service}, 10000};
      return {{"monolith", r.service}, r.percent_bp};
  }
  return {{"monolith"}, 0};
}

std::string describe(const write_ownership& w) {
  if (!w.split()) return w.owners.empty() ? "monolith" : w.owners.front();
  return "writes split " + percent_text(w.service_bp) + "/" + percent_text(bucket_count - w.service_bp) +
         " between " + w.owners[1] + " and the monolith";
}

std::string write_owner(const route& r) {
  const auto w = write_ownership_of(r);
  return w.split() ? std::string() : w.owners.front();
}

std::vector<std::pair<std::string, std::string>> handover_pairs(const write_move& m) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& from : m.from.owners)
    for (const auto& to : m.to.owners)
      if (from != to) pairs.emplace_back(from, to);
  return pairs;
}

std::vector<write_move> write_owner_changes(const route_table* before, const route_table& after,
                                            std::vector<std::string>* split) {
  const write_ownership monolith{{"monolith"}, 0};
  std::map<std::string, write_ownership> owner_before;
  if (before)
    for (const auto& r : before->routes())
      if (takes_writes(r)) owner_before[r.id] = write_ownership_of(r);
  std::vector<write_move> moves;
  for (const auto& r : after.routes()) {
    if (!takes_writes(r)) continue;
    const auto to = write_ownership_of(r);
    if (to.split() && split) split->push_back(r.id);
    const auto it = owner_before.find(r.id);
    const bool is_new = it == owner_before.end() && before;
    const auto from = it == owner_before.end() ? monolith : it->second;
    if (it != owner_before.end()) owner_before.erase(it);
    if (from != to) moves.push_back({r.id, from, to, is_new});
  }
  // Routes gone from `after`: their writes return to the monolith.
  for (const auto& [id, from] : owner_before)
    if (from != monolith) moves.push_back({id, from, monolith});
  return moves;
}

std::vector<divided_writes> writes_divided_by_route(const route_table& after, const std::vector<write_move>& moves) {
  std::map<std::string, const write_move*> moving;
  for (const auto& m : moves) moving[m.route_id] = &m;
  std::vector<divided_writes> out;
  std::set<std::pair<std::string, std::string>> reported;  // (service, moved_to): one entry each
  for (const auto& r : after.routes()) {
    const auto it = moving.find(r.id);
    if (it == moving.end() || r.service.empty() || !takes_writes(r)) continue;
    const auto& to = it->second->to;
    if (to.split()) continue;  // a split is judged on its own (write_owner_changes' `split`)
    divided_writes d{r.service, {}, {}, to.owners.front(), {}};
    for (const auto& other : after.routes()) {
      if (other.service != r.service || !takes_writes(other)) continue;
      const auto owner = write_ownership_of(other);
      if (owner == to) {
        if (moving.count(other.id)) d.moved.push_back(other.id);
      } else {
        if (d.left.empty()) d.left_with = describe(owner);
        d.left.push_back(other.id);
      }
    }
    if (d.left.empty() || !reported.emplace(d.service, d.moved_to).second) continue;
    out.push_back(std::move(d));
  }
  return out;
}

std::string_view to_string(barrier_step s) noexcept {
  switch (s) {
    case barrier_step::wait_in_flight: return "wait_in_flight";
    case barrier_step::read_source_head: return "read_source_head";
    case barrier_step::wait_for_sync: return "wait_for_sync";
    case barrier_step::switch_now: return "switch";
    case barrier_step::give_up: return "give_up";
  }
  return "?";
}

namespace {

// What the barrier is waiting for, in words.
std::string pending(const barrier_observation& s) {
  if (!s.fleet_waiting_for.empty()) return "waiting for the fleet: " + s.fleet_waiting_for;
  if (s.in_flight_writes > 0)
    return std::to_string(s.in_flight_writes) + " write" + (s.in_flight_writes == 1 ? " was" : "s were") +
           " still in flight to the old owner";
  if (!s.source_head && !s.source_has_no_feed)
    return "the old owner's feed head could not be read" + (s.source_problem.empty() ? "" : ": " + s.source_problem);
  if (!s.target_answered)
    return "the new owner did not report its sync status" + (s.target_problem.empty() ? "" : ": " + s.target_problem);
  const auto lag = *s.source_head - s.target_applied;
  return "the new owner had applied " + std::to_string(s.target_applied) + " of " + std::to_string(*s.source_head) +
         " (" + std::to_string(lag) + " event" + (lag == 1 ? "" : "s") + " behind" +
         (s.target_state == "following" ? "" : ", " + s.target_state) + ")";
}

}  // namespace

barrier_verdict next_barrier_step(const barrier_settings& settings, const barrier_observation& s) {
  const bool drained = s.in_flight_writes == 0 && s.fleet_waiting_for.empty();
  if (drained && s.source_has_no_feed) return {barrier_step::switch_now, {}};
  if (s.source_head && s.route_is_new)
    return {barrier_step::give_up,
            "the route is new in this change and its writes change data the old owner publishes in its feed; "
            "add it with the monolith's writes first (monolith or shadow mode), then move them, so that the "
            "barrier can hold them"};
  if (s.target_answered && s.target_state == "stopped")
    return {barrier_step::give_up,
            "the new owner's sync is stopped" + (s.target_why.empty() ? std::string() : ": " + s.target_why)};
  if (s.target_answered && !s.target_follows_source)
    return {barrier_step::give_up, "the new owner follows " + (s.target_source.empty() ? "no feed" : s.target_source) +
                                       ", not the old owner's feed"};
  const bool caught_up = drained && s.source_head && s.target_answered &&
                         s.target_state == "following" && s.target_applied >= *s.source_head;
  if (caught_up) return {barrier_step::switch_now, {}};
  if (s.elapsed >= settings.hold_limit)
    return {barrier_step::give_up, "no cut-over within " + std::to_string(settings.hold_limit.count()) + " ms: " + pending(s)};
  if (!drained) return {barrier_step::wait_in_flight, {}};
  if (!s.source_head) return {barrier_step::read_source_head, {}};
  return {barrier_step::wait_for_sync, {}};
}

barrier_verdict combine_barrier_steps(const std::vector<barrier_verdict>& per_pair) {
  barrier_verdict out{barrier_step::switch_now, {}};
  for (const auto& v : per_pair) {
    if (v.step == barrier_step::give_up) return v;
    // The earliest step any pair is at: waiting for in-flight writes, then the head, then sync.
    if (out.step == barrier_step::switch_now || static_cast<int>(v.step) < static_cast<int>(out.step)) out = v;
  }
  return out;
}

}  // namespace banyan::proxy
