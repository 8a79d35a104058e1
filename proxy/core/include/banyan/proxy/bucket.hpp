#pragma once
// Canary assignment: a key (user header, cookie or client address) hashes into one of 10,000
// ordered buckets. A route at N % sends buckets below N × 100 to the service, so raising N only
// ever adds buckets: users move from the monolith to the service, never back and forth.
#include <cstdint>
#include <string>
#include <string_view>

namespace banyan::proxy {

inline constexpr std::uint32_t bucket_count = 10'000;

// Stable across processes, machines and releases (FNV-1a then a 64-bit finalizer); the salt keeps
// different services' assignments independent.
std::uint32_t bucket_of(std::string_view salt, std::string_view key) noexcept;

inline bool in_canary(std::uint32_t bucket, std::uint32_t percent_bp) noexcept { return bucket < percent_bp; }

// "12.5" → 1250 basis points. False unless 0..100 with at most two decimals.
bool parse_percent(std::string_view text, std::uint32_t& basis_points) noexcept;
// 1250 → "12.5", 10000 → "100".
std::string percent_text(std::uint32_t basis_points);

}  // namespace banyan::proxy
