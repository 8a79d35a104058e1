#pragma once
// What both acts of `banyan demo` share: where the plan comes from, and how a stage's progress and a
// verb's answer are shown.
#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace banyan::cli {

struct demo_plan_source {
  std::string name;  // a path, or what the built-in copy is
  std::optional<std::string> built_in;
};
// The plan the demo walks: `given`; else migrations/FILE here or in a folder above the binary (a
// checkout, where the plan may have been edited); else `built_in` (an installed banyan).
demo_plan_source find_plan(const std::string& given, const std::string& file, std::string_view built_in);
std::string read_file(const std::string& path);
// The lines of `text`, each indented, for showing what a verb said.
std::string indented(const std::string& text, std::size_t max_lines = 40);
// A compact view of the stage from `plan status --output json`: per route, what its gates measure.
std::string progress_line(const boost::json::object& status, double seconds);

}  // namespace banyan::cli
