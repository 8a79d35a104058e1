#include "banyan/platform/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace banyan {

void yaml_reader::error(const YAML::Node& at, const std::string& message) {
  const auto m = at.Mark();
  diags_.error(file_, m.line + 1, m.column + 1, message);
}

void yaml_reader::warning(const YAML::Node& at, const std::string& message) {
  const auto m = at.Mark();
  diags_.warning(file_, m.line + 1, m.column + 1, message);
}

bool yaml_reader::key(const YAML::Node& k, std::string_view where, std::string& out) {
  if (!k.IsScalar()) {
    error(k, "keys in " + std::string(where) + " must be plain names, not lists or mappings");
    return false;
  }
  out = k.Scalar();
  return true;
}

void yaml_reader::check_keys(const YAML::Node& map, const std::vector<std::string_view>& known, std::string_view where) {
  for (const auto& kv : map) {
    std::string key;
    if (!this->key(kv.first, where, key)) continue;
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown key '" + key + "' in " + std::string(where);
    if (auto hint = closest_match(key, known); !hint.empty()) message += " (did you mean '" + hint + "'?)";
    error(kv.first, message);
  }
}

bool yaml_reader::is_map(const YAML::Node& n, std::string_view what) {
  if (n.IsMap()) return true;
  error(n, std::string(what) + " must be a mapping");
  return false;
}

bool yaml_reader::scalar(const YAML::Node& n, std::string_view what, std::string& out) {
  if (!n.IsScalar()) {
    error(n, std::string(what) + " must be a single value");
    return false;
  }
  out = n.Scalar();
  return true;
}

void yaml_reader::string_field(const YAML::Node& map, const char* key, std::string& out) {
  if (auto n = map[key]) scalar(n, key, out);
}

void yaml_reader::duration_field(const YAML::Node& map, const char* key, std::chrono::milliseconds& out) {
  std::string text;
  if (auto n = map[key]; n && scalar(n, key, text) && !parse_duration(text, out))
    error(n, std::string(key) + ": expected a duration such as 10s, 250ms or 2m, got '" + text + "'");
}

void yaml_reader::size_field(const YAML::Node& map, const char* key, std::uint64_t& out) {
  std::string text;
  if (auto n = map[key]; n && scalar(n, key, text) && !parse_size(text, out))
    error(n, std::string(key) + ": expected a size such as 16KiB or 1MiB, got '" + text + "'");
}

void yaml_reader::int_field(const YAML::Node& map, const char* key, int& out, int min, int max) {
  std::string text;
  if (auto n = map[key]; n && scalar(n, key, text)) {
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
      error(n, std::string(key) + ": expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                   ", got '" + text + "'");
    else
      out = v;
  }
}

void yaml_reader::bool_field(const YAML::Node& map, const char* key, bool& out) {
  std::string text;
  if (auto n = map[key]; n && scalar(n, key, text)) {
    if (text == "true") out = true;
    else if (text == "false") out = false;
    else error(n, std::string(key) + ": expected true or false, got '" + text + "'");
  }
}

bool read_text_file(const std::string& path, std::string& out, diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error(path, 1, 1, "cannot read the file");
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = std::move(text).str();
  return true;
}

bool load_yaml_mapping(const std::string& text, const std::string& name, YAML::Node& out, diagnostics& diags) {
  if (!load_yaml(text, name, out, diags)) return false;
  if (out.IsMap()) return true;
  diags.error(name, 1, 1, "the configuration must be a YAML mapping");
  return false;
}

bool load_yaml(const std::string& text, const std::string& name, YAML::Node& out, diagnostics& diags) {
  try {
    out = YAML::Load(text);
    return true;
  } catch (const YAML::ParserException& e) {
    diags.error(name, e.mark.line + 1, e.mark.column + 1, "YAML syntax: " + e.msg);
    return false;
  }
}

}  // namespace banyan
