#include "commands/demo_text.hpp"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <vector>

namespace banyan::cli {

namespace json = boost::json;

demo_plan_source find_plan(const std::string& given, const std::string& file, std::string_view built_in) {
  if (!given.empty()) return {given, std::nullopt};
  const std::string rel = "migrations/" + file;
  if (std::filesystem::exists(rel)) return {rel, std::nullopt};
  std::error_code ec;
  const auto bin = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  for (auto dir = bin; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
    if (std::filesystem::exists(dir / rel)) return {(dir / rel).string(), std::nullopt};
  return {file + " (built into banyan)", std::string(built_in)};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string indented(const std::string& text, std::size_t max_lines) {
  std::istringstream in(text);
  std::string line, out;
  for (std::size_t n = 0; std::getline(in, line) && n < max_lines; ++n) out += "    " + line + "\n";
  return out;
}

std::string progress_line(const boost::json::object& status, double seconds) {
  std::ostringstream o;
  o << '[' << std::setw(4) << static_cast<int>(seconds) << "s] " << status.at("stage").as_string() << " ("
    << status.at("stage_number").to_number<std::int64_t>() << '/' << status.at("stages").to_number<std::int64_t>()
    << ")";
  std::map<std::string, std::vector<std::string>> by_route;
  static const std::map<std::string, std::string> short_name{{"parity", "parity"},
                                                             {"error_rate", "errors"},
                                                             {"p99_ratio", "p99"},
                                                             {"sync_lag", "lag"},
                                                             {"min_requests", "reqs"}};
  for (const auto& g : status.at("gates").as_array()) {
    const auto name = std::string(g.at("gate").as_string());
    const auto it = short_name.find(name);
    if (it == short_name.end()) continue;
    std::string measured(g.at("measured").as_string());
    if (const auto cut = measured.find(" ("); cut != std::string::npos && name != "min_requests") measured.resize(cut);
    const std::string mark = g.at("state").as_string() == "pass" ? "" : g.at("state").as_string() == "fail" ? "✗" : "…";
    by_route[std::string(g.at("route").as_string())].push_back(it->second + " " + measured + mark);
  }
  for (const auto& [route, parts] : by_route) {
    if (route.empty()) continue;
    o << " | " << route << ':';
    for (const auto& p : parts) o << ' ' << p;
  }
  return o.str();
}


}  // namespace banyan::cli
