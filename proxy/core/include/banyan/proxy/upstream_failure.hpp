#pragma once
// When a request's upstream fails: the kinds of failure, and the one function that decides retry,
// fallback to the monolith, an error answer, or closing the connection — from the kind, the method
// and what had already happened (nginx decides in ngx_http_upstream_next from a typed failure;
// Envoy's retry state likewise). Pure: tested kind by kind in tests/proxy/core.
#include <cstdint>
#include <string_view>

namespace banyan::proxy {

enum class failure_kind : std::uint8_t {
  // Refused before any connection.
  service_unhealthy,  // the service fails its active health checks
  circuit_open,       // the service's breaker is open
  saturated,          // the upstream's connection cap, and none freed within the queue timeout
  // The upstream's fault.
  connect_refused,         // connect failed
  connect_timeout,         // connect took longer than connect_timeout
  send_failed,             // the upstream closed while the request was sent
  response_timeout,        // no response head within upstream_timeout
  closed_before_response,  // the upstream closed without answering
  bad_response,            // a malformed response head
  unexpected_upgrade,      // 101 to a request that asked for no protocol switch
  reset_mid_response,      // the response failed after its head went to the client
  // The client's.
  client_gone,       // went away or stalled mid-body
  body_too_large,    // a chunked body past max_body_bytes
  bad_chunked_body,  // malformed chunked framing
};
std::string_view to_string(failure_kind k) noexcept;

// The proxy's own answer to a failure: status and the JSON error's code and message.
struct failure_answer {
  int status;
  const char* code;
  const char* message;
};
const failure_answer& answer_for(failure_kind k) noexcept;

// A failure the upstream is to blame for: counted in its failures and against its breaker. Not a
// refusal before connecting (the breaker already knows), not the client's doing.
bool is_upstream_fault(failure_kind k) noexcept;
bool is_client_fault(failure_kind k) noexcept;

struct attempt_facts {
  bool safe = false;               // GET, HEAD, OPTIONS, TRACE
  bool idempotent = false;         // safe, PUT, DELETE
  bool has_body = false;           // a body streams through and is not kept: it cannot be sent twice
  bool reused_connection = false;  // the attempt ran on a pooled connection
  int attempt = 0;                 // 0: the first to this upstream
  bool to_service = false;         // the attempt went to a service (not the monolith)
  bool fallback_allowed = false;   // fallback_to_monolith is on and a monolith is configured
  bool response_started = false;   // bytes of the response reached the client
};

enum class next_step : std::uint8_t {
  retry,      // again, on a fresh connection to the same upstream
  fall_back,  // to the monolith
  answer,     // with answer_for(kind)
  close,      // nobody to answer, or the answer already started: close the client connection
};
std::string_view to_string(next_step s) noexcept;

// Retry only what a stale pooled connection explains (the upstream closed it while idle: send
// failed, closed or garbled before answering), once, and only for a request that can be sent twice
// (idempotent, no body). A timeout is never retried: the upstream may still be working on it.
// Fall back only safe requests without a body, from a service to the monolith, on a 5xx failure.
next_step after_failure(failure_kind k, const attempt_facts& f) noexcept;

}  // namespace banyan::proxy
