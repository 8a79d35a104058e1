#include "banyan/platform/router.hpp"

#include <stdexcept>

namespace banyan::http {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}
}  // namespace

void router::add(std::string_view method, std::string_view pattern, handler h) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  route r{std::string(method), std::string(pattern), {}, std::move(h)};
  for (auto part : split_path(pattern)) {
    if (part.front() == '{') {
      if (part.size() < 3 || part.back() != '}')
        throw std::invalid_argument("malformed parameter in route pattern: " + std::string(pattern));
      r.segments.push_back({std::string(part.substr(1, part.size() - 2)), true});
    } else {
      r.segments.push_back({std::string(part), false});
    }
  }
  for (const auto& other : routes_) {
    if (other.method != r.method || other.segments.size() != r.segments.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < r.segments.size() && same; ++i)
      same = other.segments[i].is_param == r.segments[i].is_param &&
             (r.segments[i].is_param || other.segments[i].text == r.segments[i].text);
    if (same) throw std::invalid_argument("duplicate route: " + r.method + " " + r.pattern);
  }
  routes_.push_back(std::move(r));
}

bool router::matches(const route& r, const std::vector<std::string_view>& parts) {
  if (r.segments.size() != parts.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (!r.segments[i].is_param && r.segments[i].text != parts[i]) return false;
  return true;
}

bool router::more_specific(const route& a, const route& b) {
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
  }
  return false;
}

response router::dispatch(request& req) const {
  const auto parts = split_path(req.path);
  const route* best = nullptr;
  std::string allow;
  // HEAD falls back to GET when no HEAD handler exists; the server drops the body.
  const bool head = req.method == "HEAD";
  for (const auto& r : routes_) {
    if (!matches(r, parts)) continue;
    if (r.method == req.method || (head && r.method == "GET")) {
      if (!best || more_specific(r, *best) || (r.method == req.method && best->method != req.method))
        best = &r;
    }
  }
  if (!best) {
    // Collect the methods of the most specific matching pattern(s) for the Allow header.
    for (const auto& r : routes_) {
      if (!matches(r, parts)) continue;
      if (allow.find(r.method) == std::string::npos) {
        if (!allow.empty()) allow += ", ";
        allow += r.method;
        if (r.method == "GET" && allow.find("HEAD") == std::string::npos) allow += ", HEAD";
      }
    }
    if (allow.empty()) return error_response(404, "not_found", "no resource at " + req.path);
    response res = error_response(405, "method_not_allowed",
                                  "method " + req.method + " is not allowed on " + req.path);
    res.headers.set("Allow", allow);
    return res;
  }
  req.route = best->pattern;
  req.params.clear();
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (best->segments[i].is_param) req.params.emplace_back(best->segments[i].text, std::string(parts[i]));
  return best->fn(req);
}

}  // namespace banyan::http
