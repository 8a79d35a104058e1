#include "banyan/proxy/bucket.hpp"

#include "banyan/platform/hash.hpp"

namespace banyan::proxy {

std::uint32_t bucket_of(std::string_view salt, std::string_view key) noexcept {
  std::uint64_t h = fnv1a64(salt);
  h = fnv1a64(std::string_view("\0", 1), h);  // "ab"+"c" and "a"+"bc" must differ
  h = fnv1a64(key, h);
  // MurmurHash3's fmix64: FNV alone spreads similar short keys poorly over the low digits.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return static_cast<std::uint32_t>(h % bucket_count);
}

bool parse_percent(std::string_view text, std::uint32_t& basis_points) noexcept {
  std::uint32_t whole = 0, frac = 0;
  std::size_t i = 0, digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + static_cast<std::uint32_t>(text[i] - '0');
    if (whole > 100) return false;
  }
  if (digits == 0) return false;
  if (i < text.size()) {
    if (text[i] != '.' || i + 1 == text.size() || text.size() - i - 1 > 2) return false;
    std::uint32_t scale = 10;
    for (++i; i < text.size(); ++i, scale /= 10) {
      if (text[i] < '0' || text[i] > '9') return false;
      frac += static_cast<std::uint32_t>(text[i] - '0') * scale;
    }
  }
  const std::uint32_t bp = whole * 100 + frac;
  if (bp > 10'000) return false;
  basis_points = bp;
  return true;
}

std::string percent_text(std::uint32_t bp) {
  std::string s = std::to_string(bp / 100);
  if (bp % 100) {
    s += '.';
    s += static_cast<char>('0' + bp % 100 / 10);
    if (bp % 10) s += static_cast<char>('0' + bp % 10);
  }
  return s;
}


}  // namespace banyan::proxy
