#include "banyan/proxy/upstream_failure.hpp"

#include <array>

namespace banyan::proxy {

namespace {

struct kind_info {
  std::string_view name;
  failure_answer answer;
  bool upstream_fault;
  bool client_fault;
};

// Indexed by failure_kind.
constexpr std::array<kind_info, 14> kinds{{
    {"service_unhealthy", {503, "service_unhealthy", "the service fails its health checks"}, false, false},
    {"circuit_open", {503, "circuit_open", "the service's circuit breaker is open"}, false, false},
    {"saturated",
     {503, "upstream_saturated", "the upstream's connection limit is reached and none freed in time"},
     false,
     false},
    {"connect_refused", {502, "upstream_unreachable", "cannot connect to the upstream"}, true, false},
    {"connect_timeout", {504, "upstream_connect_timeout", "connecting to the upstream timed out"}, true, false},
    {"send_failed", {502, "upstream_write_failed", "the upstream closed the connection"}, true, false},
    {"response_timeout", {504, "upstream_timeout", "the upstream did not answer in time"}, true, false},
    {"closed_before_response",
     {502, "upstream_closed", "the upstream closed the connection without answering"},
     true,
     false},
    {"bad_response", {502, "bad_upstream_response", "the upstream sent a malformed response"}, true, false},
    {"unexpected_upgrade", {502, "unexpected_upgrade", "the upstream switched protocols unasked"}, false, false},
    {"reset_mid_response", {502, "upstream_reset", "the upstream failed in the middle of its response"}, true, false},
    {"client_gone", {400, "client_gone", "the client went away or stalled mid-body"}, false, true},
    {"body_too_large", {413, "body_too_large", "request body exceeds the limit"}, false, true},
    {"bad_chunked_body", {400, "bad_chunked_body", "malformed chunked request body"}, false, true},
}};

const kind_info& info(failure_kind k) noexcept { return kinds[static_cast<std::size_t>(k)]; }

// What a pooled connection the upstream closed while it sat idle looks like to the next request.
bool stale_connection_sign(failure_kind k) noexcept {
  return k == failure_kind::send_failed || k == failure_kind::closed_before_response || k == failure_kind::bad_response;
}

}  // namespace

std::string_view to_string(failure_kind k) noexcept { return info(k).name; }
const failure_answer& answer_for(failure_kind k) noexcept { return info(k).answer; }
bool is_upstream_fault(failure_kind k) noexcept { return info(k).upstream_fault; }
bool is_client_fault(failure_kind k) noexcept { return info(k).client_fault; }

std::string_view to_string(next_step s) noexcept {
  switch (s) {
    case next_step::retry:
      return "retry";
    case next_step::fall_back:
      return "fall_back";
    case next_step::answer:
      return "answer";
    case next_step::close:
      return "close";
  }
  return "?";
}

next_step after_failure(failure_kind k, const attempt_facts& f) noexcept {
  if (f.response_started || k == failure_kind::client_gone) return next_step::close;
  if (is_client_fault(k) || k == failure_kind::unexpected_upgrade || k == failure_kind::reset_mid_response)
    return next_step::answer;
  const bool sendable_twice = f.idempotent && !f.has_body;
  if (stale_connection_sign(k) && f.reused_connection && f.attempt == 0 && sendable_twice) return next_step::retry;
  if (f.to_service && f.safe && !f.has_body && f.fallback_allowed) return next_step::fall_back;
  return next_step::answer;
}

}  // namespace banyan::proxy
