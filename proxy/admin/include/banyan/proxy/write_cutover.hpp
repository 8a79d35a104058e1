#pragma once
// The write cut-over barrier, carried out (issue 13). Its decisions are cutover_barrier.hpp's;
// this part only observes and acts: it holds the moving routes' writes on the data plane (through
// their route_stats), counts the writes still in flight to the old owner, reads the old owner's
// feed head, samples the new owner's GET /internal/sync, and at the switch calls back to persist
// and commit the new routing before it releases the held writes. It blocks its caller — the admin
// API, one change at a time — for at most the hold limit (plus the probes' own timeouts).
#include "banyan/proxy/cutover_barrier.hpp"
#include "banyan/proxy/fleet_barrier.hpp"
#include "banyan/proxy/routing_state.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace banyan::proxy {

// What a barrier did, for the audit entry, the admin API's answer and `banyan plan status`.
struct cutover_result {
  bool switched = false;
  std::string reason;  // when it gave up: why, in words
  // How long the moving routes' writes were held, until released (the audit entry, saved with the
  // switch, says how long until the switch was decided).
  std::int64_t held_ms = 0;
  std::uint64_t writes_held = 0;     // requests that waited
  // In a fleet: when every instance held these writes with none in flight (from the start).
  std::optional<std::int64_t> fleet_held_ms;
  struct pair {                      // one old owner → new owner, with the routes it moves
    std::string from, to, from_url, to_url;
    std::vector<std::string> routes;
    std::optional<std::int64_t> source_head;  // the old owner's feed head, read with nothing in flight
    bool source_has_no_feed = false;
    std::int64_t target_applied = 0;          // the new owner's applied position, last sampled
    std::string target_state;
    std::string note;  // what the pair waited on last ("" once it could switch)
    std::string fence_problem;  // the foreign-write fence could not be moved (the switch stands)
  };
  std::vector<pair> pairs;
  struct move {  // one route, its ownership before and after in words (describe(write_ownership))
    std::string route, from, to;
  };
  std::vector<move> moves;
  std::string finished_at;  // RFC 3339
};
boost::json::object to_json(const cutover_result& r);

// Whether an owner publishes a change feed (GET /internal/events answers a feed page): a canary
// must not split the writes of data that follows one. Unknown (unreachable) counts as none, with
// `why` saying so.
bool publishes_feed(const std::string& url, std::string& why);

class write_cutover {
 public:
  write_cutover(routing_state& routing, barrier_settings settings) : routing_(routing), settings_(settings) {}

  // Persists and commits the new routing; false (with why) if it could not, and then nothing changed.
  using go_live_fn = std::function<bool(const cutover_result& so_far, std::string& why)>;
  // Moves the writes of `moves` from `before` (live) to `after`. Returns with the routing switched
  // (go_live succeeded) or unchanged; either way the held writes are released.
  cutover_result run(const std::vector<write_move>& moves, const routing_snapshot& before,
                     const routing_snapshot& after, const go_live_fn& go_live);

  struct status {
    bool active = false;
    std::string step;  // while active: what it waits for (to_string(barrier_step))
    std::vector<std::string> routes;
    std::int64_t elapsed_ms = 0;
    std::optional<cutover_result> last;
    std::uint64_t switched = 0, gave_up = 0;  // barriers so far, by outcome
  };
  status current() const;
  // A fleet: the barrier also holds the moving writes on every other instance (fleet_barrier.hpp).
  void set_fleet(fleet_barrier* fleet) noexcept { fleet_ = fleet; }
  const barrier_settings& settings() const noexcept { return settings_; }

 private:
  // Before the switch, writes held: raises the foreign-write fence on the old owner's data (PUT
  // /internal/fence, at the head it read) and lowers it on the new owner's, where they are
  // banyan-sync; `was` gets the new owner's fence as it was. False when a side has no URL.
  struct previous_fence {
    std::int64_t since = 0;
    std::string owner;
  };
  static bool move_fences(cutover_result::pair& p, std::int64_t head, std::optional<previous_fence>& was);
  // Nothing switched: the old owner's fence down again, the new owner's as it was.
  static void restore_fences(const cutover_result::pair& p, const std::optional<previous_fence>& was);
  routing_state& routing_;
  barrier_settings settings_;
  fleet_barrier* fleet_ = nullptr;
  mutable std::mutex mutex_;  // guards what current() reads
  status status_;
  std::int64_t started_ms_ = 0;
};

}  // namespace banyan::proxy
