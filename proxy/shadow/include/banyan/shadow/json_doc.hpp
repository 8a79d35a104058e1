#pragma once
// A read-only JSON document for comparison: one flat, pre-order vector of nodes with views into the
// source text. Numbers keep their text, so big integers compare exactly (a double would round
// 12345678901234567890123 and ...124 to the same value). Strings with escapes are decoded once
// into the document's own storage; everything else is a view of the input, which must outlive it.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::shadow {

enum class json_kind : std::uint8_t { null, boolean, number, string, array, object };
std::string_view to_string(json_kind k) noexcept;

struct json_node {
  json_kind kind = json_kind::null;
  std::uint32_t count = 0;  // members or elements (direct children)
  std::uint32_t end = 0;    // index one past this node's subtree: the next sibling
  std::string_view text;    // number text, decoded string, "true"/"false"/"null"
  std::string_view key;     // decoded member name when the parent is an object
};

struct json_parse_error {
  std::size_t offset = 0;
  std::string message;
};

class json_doc {
 public:
  // Parses `text` (which must outlive the document). Nesting deeper than `max_depth` is an error
  // rather than a stack overflow. Duplicate member names are kept; comparison uses the last one,
  // as JavaScript's JSON.parse does.
  bool parse(std::string_view text, json_parse_error& err, std::size_t max_depth = 256);
  const std::vector<json_node>& nodes() const noexcept { return nodes_; }
  const json_node& root() const noexcept { return nodes_.front(); }
  bool empty() const noexcept { return nodes_.empty(); }
  // Children of node `i`, in document order.
  template <class F>
  void for_each_child(std::uint32_t i, F&& f) const {
    std::uint32_t c = i + 1;
    for (std::uint32_t n = 0; n < nodes_[i].count; ++n) {
      f(c);
      c = nodes_[c].end;
    }
  }
  // The node as compact JSON text (for reports), cut at `max_bytes` with "…".
  std::string render(std::uint32_t i, std::size_t max_bytes = 200) const;

 private:
  std::vector<json_node> nodes_;
  std::deque<std::string> decoded_;  // stable storage for strings that had escapes
};

// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

}  // namespace banyan::shadow
