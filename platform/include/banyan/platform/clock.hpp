#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace banyan {

// RFC 3339 UTC with milliseconds: 2026-11-21T23:57:49.123Z
std::string format_rfc3339(std::chrono::system_clock::time_point t);
inline std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }
// Reads what format_rfc3339 writes (and the same without milliseconds); false for anything else.
bool parse_rfc3339(std::string_view text, std::chrono::system_clock::time_point& out);

}  // namespace banyan
