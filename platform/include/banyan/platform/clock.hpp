#pragma once
#include <chrono>
#include <string>

namespace banyan {

// RFC 3339 UTC with milliseconds: 2026-11-21T23:57:49.123Z
std::string format_rfc3339(std::chrono::system_clock::time_point t);
inline std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

}  // namespace banyan
