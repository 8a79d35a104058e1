#pragma once
// Durations and sizes as users write them, in configuration files and on command lines.
#include <chrono>
#include <cstdint>
#include <string_view>

namespace banyan {

// "10s", "250ms", "2m", "1h" or a bare number of milliseconds.
bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept;
// "16KiB", "1MiB", "2GiB" or a bare number of bytes.
bool parse_size(std::string_view text, std::uint64_t& out) noexcept;

}  // namespace banyan
