#pragma once
// The one ASCII case folding. HTTP field names, methods and media types are case-insensitive in
// ASCII only; std::tolower depends on the locale and takes an int, so every caller needs a cast.
#include <cstddef>
#include <string>
#include <string_view>

namespace banyan {

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// `text` with A-Z folded to a-z, everything else as it is.
inline std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

constexpr char ascii_upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

// `text` with a-z folded to A-Z (HTTP methods as users type them), everything else as it is.
inline std::string ascii_uppered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = ascii_upper(c);
  return out;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace banyan
