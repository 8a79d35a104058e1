#include "banyan/proxy/route_table.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace banyan::proxy {

namespace {

constexpr std::array<std::string_view, 8> known_methods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"};
constexpr std::uint16_t other_methods_bit = 1u << 15;

// Next non-empty segment of `rest`, advancing it; empty when none is left.
std::string_view next_segment(std::string_view& rest) noexcept {
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const std::size_t slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
  return seg;
}

bool is_param(std::string_view seg) noexcept { return seg.size() >= 3 && seg.front() == '{' && seg.back() == '}'; }

// Checks a pattern and returns its shape ("/api/{}/x", "/api/**"), used to detect ties.
bool pattern_shape(std::string_view pattern, std::string& shape, std::string& why) {
  if (pattern.empty() || pattern.front() != '/') {
    why = "path must start with '/'";
    return false;
  }
  std::string_view rest = pattern;
  for (std::string_view seg = next_segment(rest); !seg.empty(); seg = next_segment(rest)) {
    if (seg == "**") {
      if (!next_segment(rest).empty()) {
        why = "'**' may only be the last segment";
        return false;
      }
      shape += "/**";
      return true;
    }
    if (is_param(seg)) {
      for (char c : seg.substr(1, seg.size() - 2))
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
          why = "parameter names are letters, digits and '_'";
          return false;
        }
      shape += "/{}";
      continue;
    }
    for (char c : seg)
      if (c == '{' || c == '}' || c == '*' || c == '?' || c == '#' || static_cast<unsigned char>(c) <= 0x20) {
        why = "invalid character '" + std::string(1, c) + "' in path segment '" + std::string(seg) + "'";
        return false;
      }
    shape += '/';
    shape += seg;
  }
  if (shape.empty()) shape = "/";
  return true;
}

}  // namespace

std::string_view to_string(route_mode m) noexcept {
  switch (m) {
    case route_mode::monolith: return "monolith";
    case route_mode::shadow: return "shadow";
    case route_mode::canary: return "canary";
    case route_mode::service: return "service";
  }
  return "monolith";
}

bool parse_mode(std::string_view text, route_mode& out) noexcept {
  for (auto m : {route_mode::monolith, route_mode::shadow, route_mode::canary, route_mode::service})
    if (text == to_string(m)) {
      out = m;
      return true;
    }
  return false;
}

std::uint16_t method_bit(std::string_view method) noexcept {
  for (std::size_t i = 0; i < known_methods.size(); ++i)
    if (known_methods[i] == method) return static_cast<std::uint16_t>(1u << i);
  return other_methods_bit;
}

std::shared_ptr<const route_table> route_table::build(std::vector<route> routes, std::vector<route_error>& errors) {
  auto table = std::shared_ptr<route_table>(new route_table());
  table->nodes_.emplace_back();
  std::map<std::string, std::vector<std::uint32_t>> by_shape;
  std::map<std::string, int> ids;
  const std::size_t errors_before = errors.size();
  for (std::uint32_t i = 0; i < routes.size(); ++i) {
    const route& r = routes[i];
    auto err = [&](std::string message) { errors.push_back({r.id, std::move(message)}); };
    if (r.id.empty()) err("route id is empty");
    if (++ids[r.id] == 2) err("duplicate route id '" + r.id + "'");
    std::uint16_t mask = 0;
    for (const auto& m : r.methods) {
      const auto bit = method_bit(m);
      if (bit == other_methods_bit) err("unknown method '" + m + "'");
      mask |= bit;
    }
    if (mask == 0) mask = 0xffff;
    table->method_masks_.push_back(mask);
    if (r.mode != route_mode::monolith && r.service.empty()) err("mode " + std::string(to_string(r.mode)) + " needs a service");
    if (r.percent_bp > 10'000) err("percent must be between 0 and 100");
    if (r.shadow.sample_bp > 10'000) err("shadow sample must be between 0 and 100 %");
    if (r.shadow.compare.tolerance < 0) err("compare tolerance must not be negative");
    if (r.key.from != canary_key::source::client_address && r.key.name.empty()) err("canary key needs a name");
    std::string shape, why;
    if (!pattern_shape(r.path, shape, why)) {
      err("path '" + r.path + "': " + why);
      continue;
    }
    for (auto other : by_shape[shape])
      if (table->method_masks_[other] & mask)
        err("route '" + r.id + "' ties with route '" + routes[other].id + "' on " + shape +
            " (same pattern, overlapping methods)");
    by_shape[shape].push_back(i);

    // Insert into the trie.
    std::uint32_t at = 0;
    std::string_view rest = r.path;
    for (std::string_view seg = next_segment(rest); !seg.empty(); seg = next_segment(rest)) {
      if (seg == "**") {
        table->nodes_[at].prefix.push_back(i);
        at = UINT32_MAX;
        break;
      }
      if (is_param(seg)) {
        if (table->nodes_[at].param_child < 0) {
          table->nodes_[at].param_child = static_cast<std::int32_t>(table->nodes_.size());
          table->nodes_.emplace_back();
        }
        at = static_cast<std::uint32_t>(table->nodes_[at].param_child);
        continue;
      }
      auto& lits = table->nodes_[at].literals;
      auto it = std::lower_bound(lits.begin(), lits.end(), seg,
                                 [](const auto& p, std::string_view s) { return std::string_view(p.first) < s; });
      if (it == lits.end() || it->first != seg) {
        const auto child = static_cast<std::uint32_t>(table->nodes_.size());
        it = lits.insert(it, {std::string(seg), child});
        table->nodes_.emplace_back();
      }
      at = it->second;
    }
    if (at != UINT32_MAX) table->nodes_[at].exact.push_back(i);
  }
  if (errors.size() != errors_before) return nullptr;
  table->routes_ = std::move(routes);
  return table;
}

const route* route_table::pick(const std::vector<std::uint32_t>& candidates, std::uint16_t bit) const noexcept {
  for (auto i : candidates)
    if (method_masks_[i] & bit) return &routes_[i];
  return nullptr;
}

const route* route_table::match_at(std::uint32_t at, std::string_view rest, std::uint16_t bit) const noexcept {
  const node& n = nodes_[at];
  std::string_view after = rest;
  const std::string_view seg = next_segment(after);
  if (seg.empty()) {
    if (const route* r = pick(n.exact, bit)) return r;
    return pick(n.prefix, bit);
  }
  auto it = std::lower_bound(n.literals.begin(), n.literals.end(), seg,
                             [](const auto& p, std::string_view s) { return std::string_view(p.first) < s; });
  if (it != n.literals.end() && it->first == seg)
    if (const route* r = match_at(it->second, after, bit)) return r;
  if (n.param_child >= 0)
    if (const route* r = match_at(static_cast<std::uint32_t>(n.param_child), after, bit)) return r;
  return pick(n.prefix, bit);
}

const route* route_table::match(std::string_view method, std::string_view path) const noexcept {
  if (nodes_.empty()) return nullptr;
  return match_at(0, path.substr(0, path.find('?')), method_bit(method));
}

const route* route_table::find(std::string_view id) const noexcept {
  for (const auto& r : routes_)
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace banyan::proxy
