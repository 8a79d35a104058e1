#include "banyan/sync/saga.hpp"

namespace banyan::sync::saga {

std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::running: return "running";
    case status::completed: return "completed";
    case status::compensated: return "compensated";
  }
  return "running";
}

bool parse_status(std::string_view text, status& out) noexcept {
  for (const auto s : {status::running, status::completed, status::compensated})
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  return false;
}

std::string_view to_string(decision::action a) noexcept {
  switch (a) {
    case decision::action::complete: return "complete";
    case decision::action::compensate: return "compensate";
    case decision::action::late_answer: return "late_answer";
    case decision::action::none: return "none";
  }
  return "none";
}

decision decide(const state& s, const input& in) {
  using action = decision::action;
  switch (s.at) {
    case status::running:
      switch (in.what) {
        case input::kind::succeeded: return {action::complete, s.step + " succeeded"};
        case input::kind::failed:
          return {action::compensate, s.step + " failed" + (in.reason.empty() ? std::string() : ": " + in.reason)};
        case input::kind::deadline:
          if (s.deadline_ms == 0 || in.at_ms < s.deadline_ms) return {action::none, "not due yet"};
        {
          const auto waited = s.deadline_ms - s.step_since_ms;
          return {action::compensate, "no answer to " + s.step + " within " +
                                          (waited % 1000 == 0 ? std::to_string(waited / 1000) + " s"
                                                              : std::to_string(waited) + " ms")};
        }
      }
      break;
    case status::completed:
      // A failure after a success would contradict the participant's own feed: nothing undoes a
      // completed saga on its word; the duplicate of the success is the usual case.
      return {action::none, "already completed"};
    case status::compensated:
      if (in.what == input::kind::succeeded)
        return {action::late_answer, s.step + " succeeded after the saga was compensated (" + s.reason +
                                         "); the participant undoes it on the compensation's event"};
      return {action::none, "already compensated"};
  }
  return {action::none, "unknown state"};
}

}  // namespace banyan::sync::saga
