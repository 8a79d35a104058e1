#include "data_plane_impl.hpp"

#include <cstdio>
#include <ctime>

namespace banyan::proxy {

namespace {

// Appends `text` as the inside of a JSON string: request targets are visible ASCII, so only the
// quote and the backslash need escaping.
void append_json_text(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
}

}  // namespace

// Counts the request on its route and, when enabled, adds its access log line.
void data_plane::impl::finish(worker& w, route_stats* stats, route_mode mode, const upstream* target, bool service,
                              int status, std::uint64_t bytes, clock_type::time_point started, const exchange& x,
                              std::string_view request_id, std::string_view trace_id) {
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  if (stats) stats->record(mode, service, status, seconds);
  if (opt.access_log_fd < 0) return;
  const auto wall = std::chrono::system_clock::now();
  const std::time_t sec = std::chrono::system_clock::to_time_t(wall);
  if (sec != w.log_second) {
    std::tm tm{};
    gmtime_r(&sec, &tm);
    std::strftime(w.log_time, sizeof w.log_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    w.log_second = sec;
  }
  std::string& out = w.log_buf;
  char num[64];
  out += "{\"time\":\"";
  out += w.log_time;
  out += "\",\"method\":\"";
  out.append(x.method.data(), x.method_len);
  out += "\",\"target\":\"";
  append_json_text(out, {x.target.data(), x.target_len});
  out += "\",\"route\":\"";
  out += stats && !stats->route_id.empty() ? std::string_view(stats->route_id) : std::string_view("-");
  out += "\",\"mode\":\"";
  out += to_string(mode);
  out += "\",\"upstream\":\"";
  out += target ? std::string_view(target->name) : std::string_view("-");
  std::snprintf(num, sizeof num, "\",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f", status,
                static_cast<unsigned long long>(bytes), seconds * 1000.0);
  out += num;
  out += ",\"request_id\":\"";
  out += request_id;
  out += "\",\"trace_id\":\"";
  out += trace_id;
  out += "\"}\n";
  if (out.size() > 32 * 1024) w.flush_log();
}

}  // namespace banyan::proxy
