#pragma once
// The project's one FNV-1a (64-bit): stable across processes, machines and releases, for
// checksums and fingerprints that are stored or compared between runs. Not for hash tables fed by
// untrusted input (no seed).
#include <cstdint>
#include <string_view>

namespace banyan {

inline constexpr std::uint64_t fnv1a64_offset = 1469598103934665603ull;

constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = fnv1a64_offset) noexcept {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace banyan
