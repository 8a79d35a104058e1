#pragma once
// Reading a user's YAML file with every problem reported at its position (FILE:LINE:COL), unknown
// keys with a "did you mean" hint. Shared by the proxy's configuration and migration plans.
#include "banyan/platform/diagnostics.hpp"
#include "banyan/platform/units.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banyan {

class yaml_reader {
 public:
  yaml_reader(std::string file, diagnostics& d) : file_(std::move(file)), diags_(d) {}

  const std::string& file() const noexcept { return file_; }
  void error(const YAML::Node& at, const std::string& message);
  void warning(const YAML::Node& at, const std::string& message);
  // Unknown keys are errors, with a hint when one is a likely typo.
  void check_keys(const YAML::Node& map, const std::vector<std::string_view>& known, std::string_view where);
  bool is_map(const YAML::Node& n, std::string_view what);
  bool scalar(const YAML::Node& n, std::string_view what, std::string& out);
  // A mapping's key as text; a key that is itself a list or mapping ({[a]: 1}) is an error here
  // rather than yaml-cpp's exception (found by fuzzing).
  bool key(const YAML::Node& k, std::string_view where, std::string& out);
  void string_field(const YAML::Node& map, const char* key, std::string& out);
  void duration_field(const YAML::Node& map, const char* key, std::chrono::milliseconds& out);
  void size_field(const YAML::Node& map, const char* key, std::uint64_t& out);
  void int_field(const YAML::Node& map, const char* key, int& out, int min, int max);
  void bool_field(const YAML::Node& map, const char* key, bool& out);

 private:
  std::string file_;
  diagnostics& diags_;
};

// Runs `read` (which returns whether the file was accepted); a YAML shape no check foresaw, where
// yaml-cpp throws, becomes a diagnostic at its place and false — never a crash (found by fuzzing).
template <class Read>
bool read_guarded(const std::string& name, diagnostics& diags, Read&& read) {
  try {
    return read();
  } catch (const YAML::Exception& e) {
    diags.error(name, e.mark.line + 1, e.mark.column + 1, "cannot read this YAML: " + e.msg);
    return false;
  }
}

// The whole file as text; "cannot read the file" at 1:1 when it cannot be read.
bool read_text_file(const std::string& path, std::string& out, diagnostics& diags);
// Parses YAML text; a syntax error becomes a diagnostic and false.
bool load_yaml(const std::string& text, const std::string& name, YAML::Node& out, diagnostics& diags);
// The same for a file whose top level must be a mapping ("the configuration must be a YAML mapping").
bool load_yaml_mapping(const std::string& text, const std::string& name, YAML::Node& out, diagnostics& diags);

}  // namespace banyan
