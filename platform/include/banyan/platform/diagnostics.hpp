#pragma once
// Problems found in a user's file, reported the way compilers do: FILE:LINE:COL: message.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace banyan {

struct diagnostic {
  enum class severity { error, warning };
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
  severity level = severity::error;

  std::string to_string() const;  // "plan.yaml:12:5: error: unknown key 'mode'"
};

class diagnostics {
 public:
  void error(std::string file, int line, int column, std::string message);
  void warning(std::string file, int line, int column, std::string message);
  bool has_errors() const noexcept;
  const std::vector<diagnostic>& items() const noexcept { return items_; }
  std::string to_string() const;  // one line each

 private:
  std::vector<diagnostic> items_;
};

// The candidate closest to `word` by edit distance, when close enough to be a plausible typo;
// empty otherwise. For "did you mean 'x'?" hints.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace banyan
