#pragma once
// Where a request goes, and why: the one place a route is decided. Plain data in (the request head,
// its normalised path, the route table in force), plain data out, no sockets; the data plane only
// carries it out. What happens when the chosen upstream then fails is upstream_failure.hpp's.
//
// The services' health and circuit breakers are not inputs here: a breaker's half-open state lets
// one probe through, which must be taken right before that request's connection, so the data plane
// checks them at each attempt and reports a refusal as a failure kind (service_unhealthy,
// circuit_open) that upstream_failure.hpp turns into fallback or error like any other.
#include "banyan/proxy/http1.hpp"
#include "banyan/proxy/route_table.hpp"

#include <cstdint>
#include <string_view>

namespace banyan::proxy {

// RFC 9110 §9.2: a safe request changes nothing (the monolith may answer it when its service fails,
// and shadow may copy it as it is); an idempotent one may be sent twice.
bool is_safe_method(std::string_view method) noexcept;
bool is_idempotent_method(std::string_view method) noexcept;

// The value of cookie `name` in one Cookie field value ("a=1; b=2"); empty when absent or empty.
std::string_view cookie_value(std::string_view cookie_field, std::string_view name) noexcept;

// What a canary route hashes: the header or cookie it names, else the client address (so every
// request has a stable bucket).
struct canary_key_value {
  std::string_view value;
  bool from_client_address = false;  // the named header or cookie was absent or empty
};
canary_key_value canary_key_of(const route& r, const http1::request_head& req,
                               std::string_view client_address) noexcept;

// Whether the request gets a shadow copy, and if not, why (counted per route).
enum class shadow_choice : std::uint8_t {
  none,  // the route does not shadow, or there is no mirror
  copy,
  not_sampled,    // outside the route's sample share
  upgrade,        // protocol switches are never copied
  skipped_write,  // a write where the route does not copy writes as dry-runs (reverse shadows never do)
  too_large,      // a declared body over max_compare_bytes
};
std::string_view to_string(shadow_choice c) noexcept;

struct route_decision {
  const route* matched = nullptr;  // null: no route matched, the monolith serves it
  std::uint32_t index = 0;         // of `matched` in the table
  route_mode mode = route_mode::monolith;
  bool to_service = false;  // else the monolith
  // Canary routes, and shadows sampled by key: the key hashed and its bucket (0..9999).
  canary_key_value key;
  std::uint32_t bucket = 0;
  bool keyed = false;  // key and bucket were computed
  shadow_choice shadow = shadow_choice::none;
  bool shadow_dry_run = false;          // the copy is a write, sent as X-Banyan-Shadow: dry-run
  bool shadow_primary_monolith = true;  // forward shadow (the monolith answered); false: reverse
  // The method's class, for what to do when the upstream fails (upstream_failure.hpp).
  bool safe = false;
  bool idempotent = false;
};

struct decision_inputs {
  const route_table* table = nullptr;  // null: no routes installed
  std::string_view method;
  std::string_view path;  // normalised (request_path.hpp): what the table matches
  std::string_view client_address;
  bool mirror = false;  // a shadow mirror is running
  // Draws for sampling by share (xorshift64), advanced only when a route samples: a worker's own
  // state, so no locks and no shared counter.
  std::uint64_t* sample_state = nullptr;
};

route_decision decide_route(const decision_inputs& in, const http1::request_head& req) noexcept;

}  // namespace banyan::proxy
