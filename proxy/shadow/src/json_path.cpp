#include "banyan/shadow/json_path.hpp"

namespace banyan::shadow {

namespace {
bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return !(s.front() >= '0' && s.front() <= '9');
}

void append_member(std::string& out, std::string_view name) {
  if (is_identifier(name)) {
    out.push_back('.');
    out += name;
    return;
  }
  out += "['";
  for (char c : name) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out += "']";
}
}  // namespace

std::string json_path::text() const {
  std::string out = "$";
  for (const auto& s : segments_) {
    switch (s.kind) {
      case path_segment::type::member: append_member(out, s.name); break;
      case path_segment::type::index: out += "[" + std::to_string(s.index) + "]"; break;
      case path_segment::type::keyed:
        out += "[";
        out += s.key;
        out += "=";
        out += s.name;
        out += "]";
        break;
    }
  }
  return out;
}

std::string json_path::normalized() const {
  std::string out = "$";
  for (const auto& s : segments_) {
    if (s.kind == path_segment::type::member) append_member(out, s.name);
    else out += "[*]";
  }
  return out;
}

bool path_pattern::parse(std::string_view text, path_pattern& out, std::string& why) {
  out = {};
  out.text_ = std::string(text);
  if (text.empty() || text.front() != '$') {
    why = "a JSON path starts with '$', such as $.generated_at or $..request_id";
    return false;
  }
  std::size_t i = 1;
  auto name_end = [&](std::size_t from) {
    std::size_t e = from;
    while (e < text.size() && text[e] != '.' && text[e] != '[') ++e;
    return e;
  };
  while (i < text.size()) {
    if (text[i] == '.') {
      if (i + 1 < text.size() && text[i + 1] == '.') {
        if (!out.steps_.empty() && out.steps_.back().kind == step::type::descend) {
          why = "'...' is not a JSON path step";
          return false;
        }
        out.steps_.push_back({step::type::descend, {}, 0});
        i += 2;
        if (i < text.size() && text[i] == '[') continue;  // $..[*]
      } else {
        ++i;
      }
      const std::size_t e = name_end(i);
      const auto name = text.substr(i, e - i);
      if (name.empty()) {
        why = "a name or * is expected after '.' at offset " + std::to_string(i);
        return false;
      }
      if (name == "*") out.steps_.push_back({step::type::any, {}, 0});
      else out.steps_.push_back({step::type::member, std::string(name), 0});
      i = e;
    } else if (text[i] == '[') {
      const std::size_t close = text.find(']', i);
      if (close == std::string_view::npos) {
        why = "'[' without ']' at offset " + std::to_string(i);
        return false;
      }
      const auto inner = text.substr(i + 1, close - i - 1);
      if (inner == "*") {
        out.steps_.push_back({step::type::any, {}, 0});
      } else if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') && inner.back() == inner.front()) {
        out.steps_.push_back({step::type::member, std::string(inner.substr(1, inner.size() - 2)), 0});
      } else if (!inner.empty() && inner.find_first_not_of("0123456789") == std::string_view::npos && inner.size() < 10) {
        out.steps_.push_back({step::type::index, {}, static_cast<std::uint32_t>(std::stoul(std::string(inner)))});
      } else {
        why = "'[" + std::string(inner) + "]' is not a JSON path step: use [*], [N] or ['name']";
        return false;
      }
      i = close + 1;
    } else {
      why = "'.' or '[' expected at offset " + std::to_string(i);
      return false;
    }
  }
  if (!out.steps_.empty() && out.steps_.back().kind == step::type::descend) {
    why = "'..' must be followed by a step";
    return false;
  }
  return true;
}

bool path_pattern::match_from(std::size_t pi, const std::vector<path_segment>& path, std::size_t si) const noexcept {
  while (pi < steps_.size()) {
    const step& st = steps_[pi];
    if (st.kind == step::type::descend) {
      for (std::size_t k = si; k < path.size(); ++k)
        if (match_from(pi + 1, path, k)) return true;
      return false;
    }
    if (si >= path.size()) return false;
    const path_segment& seg = path[si];
    switch (st.kind) {
      case step::type::any: break;
      case step::type::member:
        if (seg.kind != path_segment::type::member || seg.name != st.name) return false;
        break;
      case step::type::index:
        if (seg.kind != path_segment::type::index || seg.index != st.index) return false;
        break;
      case step::type::descend: break;
    }
    ++pi;
    ++si;
  }
  return si == path.size();
}

bool path_pattern::matches(const std::vector<path_segment>& path) const noexcept { return match_from(0, path, 0); }

bool any_matches(const std::vector<path_pattern>& patterns, const std::vector<path_segment>& path) noexcept {
  for (const auto& p : patterns)
    if (p.matches(path)) return true;
  return false;
}

}  // namespace banyan::shadow
