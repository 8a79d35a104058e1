#include "banyan/platform/log.hpp"

#include "banyan/platform/clock.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace banyan::log {

namespace {
std::atomic<int> min_level{static_cast<int>(level::info)};
std::mutex write_mutex;

const char* name_of(level l) noexcept {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}
}  // namespace

void set_min_level(level l) noexcept { min_level.store(static_cast<int>(l), std::memory_order_relaxed); }

bool parse_level(std::string_view text, level& out) noexcept {
  for (level l : {level::debug, level::info, level::warn, level::error})
    if (text == name_of(l)) {
      out = l;
      return true;
    }
  return false;
}

bool enabled(level l) noexcept { return static_cast<int>(l) >= min_level.load(std::memory_order_relaxed); }

std::string format_line(level l, std::string_view message, const boost::json::object& fields) {
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["time"] = now_rfc3339();
  line["level"] = name_of(l);
  line["msg"] = message;
  for (const auto& kv : fields) line[kv.key()] = kv.value();
  std::string out = boost::json::serialize(line);
  out.push_back('\n');
  return out;
}

void write(level l, std::string_view message, const boost::json::object& fields) {
  if (!enabled(l)) return;
  const std::string out = format_line(l, message, fields);
  std::lock_guard lock(write_mutex);
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace banyan::log
