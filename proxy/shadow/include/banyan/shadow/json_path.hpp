#pragma once
// JSON paths: the concrete place of a value in a document ($.items[3].price) and the patterns
// rules are written in ($.items[*].updated_at, $..request_id). Pure; used by the diff engine, the
// redaction of stored samples and plan validation.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::shadow {

// One step of a concrete path. `keyed` is an element of an array compared as a set, named by its
// key field's value: $.items[id=7].
struct path_segment {
  enum class type : std::uint8_t { member, index, keyed };
  type kind = type::member;
  std::string_view name;  // member name, or the key value of a keyed element
  std::uint32_t index = 0;
  std::string_view key;  // keyed: the key field's name
};

class json_path {
 public:
  void push_member(std::string_view name) { segments_.push_back({path_segment::type::member, name, 0, {}}); }
  void push_index(std::uint32_t i) { segments_.push_back({path_segment::type::index, {}, i, {}}); }
  void push_keyed(std::string_view key, std::string_view value) {
    segments_.push_back({path_segment::type::keyed, value, 0, key});
  }
  void pop() { segments_.pop_back(); }
  const std::vector<path_segment>& segments() const noexcept { return segments_; }
  // $.items[3].price, $['odd name'], $.items[id=7]
  std::string text() const;
  // Every array position as [*]: the form counts are aggregated under.
  std::string normalized() const;

 private:
  std::vector<path_segment> segments_;
};

class path_pattern {
 public:
  // `$`, `.name`, `['name']`, `[n]`, `[*]`, `.*`, and `..` (any depth) before a step. False with
  // `why` for anything else.
  static bool parse(std::string_view text, path_pattern& out, std::string& why);
  bool matches(const std::vector<path_segment>& path) const noexcept;
  const std::string& text() const noexcept { return text_; }

 private:
  struct step {
    enum class type : std::uint8_t { member, index, any, descend };
    type kind = type::member;
    std::string name;
    std::uint32_t index = 0;
  };
  bool match_from(std::size_t pi, const std::vector<path_segment>& path, std::size_t si) const noexcept;
  std::vector<step> steps_;
  std::string text_;
};

// True when any of the patterns matches.
bool any_matches(const std::vector<path_pattern>& patterns, const std::vector<path_segment>& path) noexcept;

}  // namespace banyan::shadow
