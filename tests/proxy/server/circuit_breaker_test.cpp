#include "banyan/proxy/routing_state.hpp"

#include <catch2/catch.hpp>

using banyan::proxy::breaker_settings;
using banyan::proxy::circuit_breaker;

TEST_CASE("consecutive failures open the circuit, one probe after open_ms", "[breaker]") {
  circuit_breaker b(breaker_settings{3, 1000, 0.5, 20, 10000});
  std::int64_t t = 100'000;
  b.on_failure(t);
  b.on_failure(t);
  CHECK(b.allow(t));
  b.on_success(t);  // a success resets the run
  b.on_failure(t);
  b.on_failure(t);
  CHECK(b.current(t) == circuit_breaker::state::closed);
  b.on_failure(t);
  CHECK(b.current(t) == circuit_breaker::state::open);
  CHECK_FALSE(b.allow(t + 999));
  CHECK(b.current(t + 1000) == circuit_breaker::state::half_open);
  CHECK(b.allow(t + 1000));        // the probe
  CHECK_FALSE(b.allow(t + 1001));  // only one
  b.on_failure(t + 1002);          // the probe failed: open again
  CHECK(b.current(t + 1500) == circuit_breaker::state::open);
  CHECK(b.allow(t + 2002));
  b.on_success(t + 2003);  // the probe passed: closed
  CHECK(b.current(t + 2003) == circuit_breaker::state::closed);
  CHECK(b.allow(t + 2004));
}

TEST_CASE("an error rate over the window opens the circuit without a run of failures", "[breaker]") {
  circuit_breaker b(breaker_settings{100, 1000, 0.5, 20, 10000});
  std::int64_t t = 500'000;
  // Alternating success and failure: never 2 in a row, but half of all requests fail.
  for (int i = 0; i < 9; ++i) {
    b.on_success(t);
    b.on_failure(t);
  }
  CHECK(b.current(t) == circuit_breaker::state::closed);  // 18 requests: below min_requests
  b.on_success(t);
  b.on_failure(t);
  CHECK(b.current(t) == circuit_breaker::state::open);  // 20 requests, 10 failed
}

TEST_CASE("a new window forgets old failures", "[breaker]") {
  circuit_breaker b(breaker_settings{100, 1000, 0.5, 4, 1000});
  std::int64_t t = 900'000;
  b.on_failure(t);
  b.on_failure(t);
  b.on_success(t);
  for (int i = 0; i < 5; ++i) b.on_success(t + 1500);  // next window: all good
  b.on_failure(t + 1600);
  CHECK(b.current(t + 1600) == circuit_breaker::state::closed);  // 1 of 6 in this window
}
