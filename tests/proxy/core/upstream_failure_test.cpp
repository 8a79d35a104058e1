// What follows an upstream failure, for every kind × method class × body × connection × attempt ×
// destination × whether the answer had started: the rules of after_failure(), checked exhaustively
// against their plain statement rather than a few examples.
#include "banyan/proxy/upstream_failure.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace banyan::proxy;

namespace {
constexpr failure_kind all_kinds[] = {
    failure_kind::service_unhealthy, failure_kind::circuit_open,     failure_kind::saturated,
    failure_kind::connect_refused,   failure_kind::connect_timeout,  failure_kind::send_failed,
    failure_kind::response_timeout,  failure_kind::closed_before_response, failure_kind::bad_response,
    failure_kind::unexpected_upgrade, failure_kind::reset_mid_response, failure_kind::client_gone,
    failure_kind::body_too_large,    failure_kind::bad_chunked_body};

struct method_class {
  const char* name;
  bool safe, idempotent;
};
constexpr method_class methods[] = {{"GET", true, true}, {"PUT", false, true}, {"POST", false, false}};
}  // namespace

TEST_CASE("every failure kind has a name, an answer and one side to blame") {
  std::set<std::string> names, codes;
  for (auto k : all_kinds) {
    INFO(to_string(k));
    CHECK(names.insert(std::string(to_string(k))).second);
    const auto& a = answer_for(k);
    CHECK(codes.insert(a.code).second);
    CHECK(std::string(a.message).size() > 10);
    CHECK_FALSE((is_upstream_fault(k) && is_client_fault(k)));
    if (is_client_fault(k)) CHECK(a.status < 500);
    else CHECK(a.status >= 502);
  }
  CHECK(answer_for(failure_kind::connect_timeout).status == 504);
  CHECK(answer_for(failure_kind::response_timeout).status == 504);
  CHECK(answer_for(failure_kind::connect_refused).status == 502);
  CHECK(answer_for(failure_kind::saturated).status == 503);
  CHECK(answer_for(failure_kind::body_too_large).status == 413);
  // Refusals before connecting are not counted against the upstream again.
  CHECK_FALSE(is_upstream_fault(failure_kind::circuit_open));
  CHECK_FALSE(is_upstream_fault(failure_kind::service_unhealthy));
  CHECK_FALSE(is_upstream_fault(failure_kind::saturated));
  CHECK(is_upstream_fault(failure_kind::closed_before_response));
}

TEST_CASE("after_failure over every combination") {
  const std::set<failure_kind> stale_signs{failure_kind::send_failed, failure_kind::closed_before_response,
                                           failure_kind::bad_response};
  int combinations = 0;
  for (auto k : all_kinds)
    for (const auto& m : methods)
      for (bool body : {false, true})
        for (bool reused : {false, true})
          for (int attempt : {0, 1})
            for (bool to_service : {false, true})
              for (bool fallback : {false, true})
                for (bool started : {false, true}) {
                  attempt_facts f;
                  f.safe = m.safe;
                  f.idempotent = m.idempotent;
                  f.has_body = body;
                  f.reused_connection = reused;
                  f.attempt = attempt;
                  f.to_service = to_service;
                  f.fallback_allowed = fallback;
                  f.response_started = started;
                  const next_step got = after_failure(k, f);
                  next_step want;
                  if (started || k == failure_kind::client_gone) want = next_step::close;
                  else if (is_client_fault(k) || k == failure_kind::unexpected_upgrade ||
                           k == failure_kind::reset_mid_response)
                    want = next_step::answer;
                  else if (stale_signs.contains(k) && reused && attempt == 0 && m.idempotent && !body)
                    want = next_step::retry;
                  else if (to_service && m.safe && !body && fallback)
                    want = next_step::fall_back;
                  else
                    want = next_step::answer;
                  INFO(to_string(k) << " " << m.name << " body=" << body << " reused=" << reused << " attempt="
                                    << attempt << " service=" << to_service << " fallback=" << fallback
                                    << " started=" << started);
                  CHECK(to_string(got) == to_string(want));
                  ++combinations;
                }
  CHECK(combinations == 14 * 3 * 2 * 2 * 2 * 2 * 2 * 2);
}

TEST_CASE("after_failure: the cases that matter, spelled out") {
  attempt_facts get_pooled{.safe = true, .idempotent = true, .reused_connection = true, .to_service = true,
                           .fallback_allowed = true};
  // A stale pooled connection: retried once, then the service's failure falls back to the monolith.
  CHECK(after_failure(failure_kind::closed_before_response, get_pooled) == next_step::retry);
  auto second = get_pooled;
  second.attempt = 1;
  second.reused_connection = false;
  CHECK(after_failure(failure_kind::closed_before_response, second) == next_step::fall_back);
  // A timeout is not retried (the upstream may still be at it), but a read may fall back.
  CHECK(after_failure(failure_kind::response_timeout, get_pooled) == next_step::fall_back);
  // A POST is never sent twice, nor to the monolith.
  attempt_facts post{.reused_connection = true, .to_service = true, .fallback_allowed = true};
  CHECK(after_failure(failure_kind::closed_before_response, post) == next_step::answer);
  CHECK(after_failure(failure_kind::circuit_open, post) == next_step::answer);
  // A PUT may be retried on a fresh connection but not moved to the monolith.
  attempt_facts put{.idempotent = true, .reused_connection = true, .to_service = true, .fallback_allowed = true};
  CHECK(after_failure(failure_kind::send_failed, put) == next_step::retry);
  put.attempt = 1;
  CHECK(after_failure(failure_kind::send_failed, put) == next_step::answer);
  // The monolith failing has nowhere to fall back to.
  auto monolith = get_pooled;
  monolith.to_service = false;
  monolith.reused_connection = false;
  CHECK(after_failure(failure_kind::connect_refused, monolith) == next_step::answer);
  // Once the answer has started, nothing but closing is left.
  auto started = get_pooled;
  started.response_started = true;
  CHECK(after_failure(failure_kind::reset_mid_response, started) == next_step::close);
}
