#include "banyan/platform/units.hpp"

#include <charconv>

namespace banyan {

namespace {
bool parse_number(std::string_view text, std::uint64_t& out, std::string_view& rest) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end == text.data()) return false;
  rest = text.substr(static_cast<std::size_t>(end - text.data()));
  return true;
}
}  // namespace

bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept {
  std::uint64_t n = 0;
  std::string_view unit;
  if (!parse_number(text, n, unit) || n > 1'000'000'000ull) return false;
  if (unit.empty() || unit == "ms") out = std::chrono::milliseconds(n);
  else if (unit == "s") out = std::chrono::seconds(n);
  else if (unit == "m") out = std::chrono::minutes(n);
  else if (unit == "h") out = std::chrono::hours(n);
  else return false;
  return true;
}

bool parse_size(std::string_view text, std::uint64_t& out) noexcept {
  std::uint64_t n = 0;
  std::string_view unit;
  if (!parse_number(text, n, unit) || n > (1ull << 40)) return false;
  if (unit.empty() || unit == "B") out = n;
  else if (unit == "KiB") out = n << 10;
  else if (unit == "MiB") out = n << 20;
  else if (unit == "GiB") out = n << 30;
  else return false;
  return true;
}

}  // namespace banyan
