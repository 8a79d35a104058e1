#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace banyan {

// The one pair of clock readings in milliseconds. Monotonic for intervals, deadlines and breakers
// (never jumps with the wall clock); Unix time for what is stored, compared across processes or
// shown.
inline std::int64_t steady_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline std::int64_t unix_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline std::int64_t unix_seconds() noexcept { return unix_ms() / 1000; }

// RFC 3339 UTC with milliseconds: 2026-11-21T23:57:49.123Z
std::string format_rfc3339(std::chrono::system_clock::time_point t);
inline std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }
// Reads what format_rfc3339 writes (and the same without milliseconds); false for anything else.
bool parse_rfc3339(std::string_view text, std::chrono::system_clock::time_point& out);

}  // namespace banyan
