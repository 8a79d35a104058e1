#pragma once
// Structured logs: one JSON object per line on stderr ({"time","level","msg",...fields}).
// stdout stays free for the one line a server prints when it is listening.
#include <boost/json/object.hpp>

#include <string_view>

namespace banyan::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

void set_min_level(level l) noexcept;
// False for "debug|info|warn|error" spelled otherwise.
bool parse_level(std::string_view text, level& out) noexcept;
bool enabled(level l) noexcept;

// Serialises one line; thread-safe. Fields are appended after time, level and msg.
void write(level l, std::string_view message, const boost::json::object& fields = {});
// Formats the line without writing it (tests and custom sinks).
std::string format_line(level l, std::string_view message, const boost::json::object& fields);

inline void debug(std::string_view m, const boost::json::object& f = {}) { if (enabled(level::debug)) write(level::debug, m, f); }
inline void info(std::string_view m, const boost::json::object& f = {}) { if (enabled(level::info)) write(level::info, m, f); }
inline void warn(std::string_view m, const boost::json::object& f = {}) { write(level::warn, m, f); }
inline void error(std::string_view m, const boost::json::object& f = {}) { write(level::error, m, f); }

}  // namespace banyan::log
