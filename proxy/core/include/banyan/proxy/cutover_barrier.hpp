#pragma once
// The write cut-over barrier's decisions (issue 13), pure: which routes' writes change owner
// between two routing tables, which requests a barrier holds, and — from what the proxy observes
// while it holds them — whether to keep waiting, read the old owner's feed head, switch, or give up.
// The proxy's part is only to observe and carry out (hold, count in-flight writes, read the head,
// sample the new owner's sync status). The reference is Vitess' SwitchTraffic: stop writes on the
// source, wait until the target has applied the source's position, switch; gh-ost likewise cuts
// over only at zero lag. Nothing here knows about sockets or time sources: elapsed time is an input.
#include "banyan/proxy/route_table.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <utility>

namespace banyan::proxy {

// POST, PUT, PATCH, DELETE: what changes data, and so what has exactly one owner at a time.
bool is_write_method(std::string_view method) noexcept;

// Whether a route matches any write method (a route with no method list matches them all).
bool takes_writes(const route& r);

// Who takes a route's writes: one owner ("monolith" or a service's name), or both while a canary
// splits them by user. A split is an ownership like any other: a change into, out of or within
// one moves writes between the two owners, and the barrier handles each direction as a leg.
struct write_ownership {
  std::vector<std::string> owners;  // one; or, split, "monolith" then the service
  std::uint32_t service_bp = 0;     // split: the service's share of users, in basis points
  bool split() const noexcept { return owners.size() > 1; }
  bool operator==(const write_ownership&) const = default;
};
write_ownership write_ownership_of(const route& r);
// "monolith", "catalog", or "writes split 30/70 between catalog and the monolith".
std::string describe(const write_ownership& w);

// Who takes a route's writes: "monolith", a service's name, or "" when a canary splits them.
std::string write_owner(const route& r);

struct write_move {
  std::string route_id;
  write_ownership from, to;
  bool new_route = false;  // not in `before`: its writes went by other routes, which cannot be held by its id
};
// The old owner → new owner pairs a move hands writes over between: every owner in `from` to every
// different owner in `to` (monolith → catalog; a split → catalog is monolith → catalog; a split
// widened from 30 % to 60 % is monolith → catalog and catalog → monolith, as users move one way and
// a write in flight may still land on the other side).
std::vector<std::pair<std::string, std::string>> handover_pairs(const write_move& m);

// The routes whose write ownership differs between `before` and `after`, matched by route id (a
// route only in one of them has the monolith as its owner in the other). Routes that take no
// writes are never listed. With `split`, the routes whose writes a canary divides between two
// owners in `after`: the admin API refuses those when data follows a feed.
std::vector<write_move> write_owner_changes(const route_table* before, const route_table& after,
                                            std::vector<std::string>* split = nullptr);

// One service's write routes left on different owners by a change that moves some of them: a
// dataset whose creates go to one owner and updates to the other. When its data follows a feed,
// a client's update of the row it just created may reach an owner that has not applied it yet.
struct divided_writes {
  std::string service;
  std::vector<std::string> moved;     // the routes the change moves, in route order
  std::vector<std::string> left;      // the service's other write routes, with another owner
  std::string moved_to;               // the owner the moved routes go to
  std::string left_with;              // describe() of the first left route's owner
};
std::vector<divided_writes> writes_divided_by_route(const route_table& after, const std::vector<write_move>& moves);

struct barrier_settings {
  std::chrono::milliseconds hold_limit{5000};  // longest a write waits; then nothing changes
};

// What the proxy sees at one moment of a barrier.
struct barrier_observation {
  std::chrono::milliseconds elapsed{0};  // since writes on the moving routes were first held
  std::uint32_t in_flight_writes = 0;    // already sent to the old owner, not yet answered
  // A fleet (docs/fleet.md): the instances that have not yet said they hold these writes with none
  // in flight, in words; empty when every one has, or on one machine. Waited for like in-flight
  // writes: the old owner's head means nothing while another instance may still write to it.
  std::string fleet_waiting_for;
  std::optional<std::int64_t> source_head;  // the old owner's feed head, once read (after in-flight is 0)
  // It answered 404 at /internal/events: it publishes no change feed, so no data follows its
  // writes and, once nothing is in flight, there is nothing to wait for.
  bool source_has_no_feed = false;
  std::string source_problem;  // why the head could not be read (unreachable, not a feed)
  bool route_is_new = false;  // write_move::new_route: refused when data follows (its writes were not held)
  // The new owner's sync status, as last sampled.
  bool target_answered = false;  // it answered GET /internal/sync
  std::string target_problem;    // why not (unreachable, 404: it follows no feed)
  std::string target_state;      // backfilling | following | stopped
  std::string target_why;        // stopped: why
  std::int64_t target_applied = 0;
  // Whether the feed it follows is the old owner's (the same host and port); applied positions
  // in another feed say nothing about this one.
  bool target_follows_source = true;
  std::string target_source;  // the URL it follows, for the reason
};

enum class barrier_step {
  wait_in_flight,    // writes sent before the hold are still running at the old owner
  read_source_head,  // nothing in flight: read the old owner's feed head now (it cannot move)
  wait_for_sync,     // the new owner has not applied the head yet
  switch_now,        // it has: make the new routing live and release the held writes to it
  give_up,           // keep the old routing, release the held writes to the old owner, report why
};
std::string_view to_string(barrier_step s) noexcept;

struct barrier_verdict {
  barrier_step step = barrier_step::wait_in_flight;
  std::string reason;  // for give_up: what was still missing, in words for the audit and the CLI
};

// A barrier gives up at once when waiting cannot help (the new owner's sync is stopped or follows
// another feed; a route new in this change would take writes of data that follows a feed), and
// when the hold limit passes, naming what it was waiting for. An old owner without a feed needs
// only its in-flight writes finished.
barrier_verdict next_barrier_step(const barrier_settings& settings, const barrier_observation& seen);

// During a barrier: a request is held when it is a write on a moving route. Reads are never held.
inline bool barrier_holds(bool route_is_moving, std::string_view method) noexcept {
  return route_is_moving && is_write_method(method);
}

// One barrier may move several routes between several pairs of owners (a plan stage moving two
// routes; a rollback). Each pair is judged with next_barrier_step; together they switch only when
// every pair may, and give up as soon as one must (with that pair's reason).
barrier_verdict combine_barrier_steps(const std::vector<barrier_verdict>& per_pair);

}  // namespace banyan::proxy
