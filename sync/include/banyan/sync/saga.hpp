#pragma once
// A saga: one business transaction of a monolith become local transactions of several services,
// kept consistent by events instead of a distributed transaction (docs/saga.md). The initiator
// starts it in its own local transaction, a participant answers on its feed, and the initiator
// completes the saga — or compensates: undoes its own part — when the participant fails or does
// not answer by a deadline. This header is the decision alone, no storage: which answer counts,
// once, and what it means in each state. saga_store.hpp keeps the state durable.
#include <cstdint>
#include <string>
#include <string_view>

namespace banyan::sync::saga {

enum class status {
  running,      // waiting for the step's answer
  completed,    // the participant did its part; the initiator finished its own
  compensated,  // the participant failed or never answered: the initiator undid its part
};
std::string_view to_string(status s) noexcept;
bool parse_status(std::string_view text, status& out) noexcept;

struct state {
  std::string id;    // the business key it runs for: "order-42"
  std::string kind;  // what it does: "order.shipment"
  std::string step;  // the step it waits on, or the last one
  status at = status::running;
  std::int64_t started_ms = 0;     // unix ms
  std::int64_t step_since_ms = 0;  // when the step began (running) or the saga ended
  std::int64_t deadline_ms = 0;    // the step's answer is due by then; 0: no deadline
  std::string reason;              // why it was compensated, or what a late answer said
};

// What arrived for a saga: a participant's answer (an event of its feed, by id) or the clock.
struct input {
  enum class kind { succeeded, failed, deadline } what = kind::succeeded;
  std::string event_id;  // for an answer: its feed's name for it, unique ("shipping#1234")
  std::string reason;    // for a failure: the participant's words
  std::int64_t at_ms = 0;
};

struct decision {
  enum class action {
    complete,     // finish the initiator's side (the order is confirmed)
    compensate,   // undo the initiator's side (the order is cancelled, its stock released)
    late_answer,  // a success after the saga was compensated: the initiator's compensation event
                  // makes the participant undo its part; recorded, nothing else to do here
    none,         // nothing to do (a duplicate, an answer to a saga already ended, not yet due)
  } what = action::none;
  std::string reason;  // in words, for the saga's record and the log
};
std::string_view to_string(decision::action a) noexcept;

// The one place these rules live. A saga ends once: the first answer (or the deadline) decides, and
// everything after it is `none` or `late_answer`.
decision decide(const state& s, const input& in);

}  // namespace banyan::sync::saga
