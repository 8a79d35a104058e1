#include "banyan/platform/diagnostics.hpp"

#include <algorithm>

namespace banyan {

std::string diagnostic::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
         (level == severity::error ? "error: " : "warning: ") + message;
}

void diagnostics::error(std::string file, int line, int column, std::string message) {
  items_.push_back({std::move(file), line, column, std::move(message), diagnostic::severity::error});
}

void diagnostics::warning(std::string file, int line, int column, std::string message) {
  items_.push_back({std::move(file), line, column, std::move(message), diagnostic::severity::warning});
}

bool diagnostics::has_errors() const noexcept {
  return std::any_of(items_.begin(), items_.end(),
                     [](const diagnostic& d) { return d.level == diagnostic::severity::error; });
}

std::string diagnostics::to_string() const {
  std::string out;
  for (const auto& d : items_) out += d.to_string() + "\n";
  return out;
}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_distance = SIZE_MAX;
  for (auto c : candidates) {
    const auto d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A third of the word's length (at least 1, at most 3) still reads as a typo.
  const std::size_t allowed = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  return best_distance <= allowed ? std::string(best) : std::string();
}

}  // namespace banyan
