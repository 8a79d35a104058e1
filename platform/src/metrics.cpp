#include "banyan/platform/metrics.hpp"

#include <cmath>
#include <charconv>
#include <stdexcept>

namespace banyan::metrics {

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) return false;
  }
  return true;
}

void append_number(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[32];
  // Shortest text that reads back as the same double.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void escape_into(std::string& out, std::string_view v, bool quote) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
}

// Adds le="..." to a rendered label set.
std::string with_le(const std::string& rendered, std::string_view le) {
  std::string out = rendered.empty() ? "{" : rendered.substr(0, rendered.size() - 1) + ",";
  out += "le=\"";
  out += le;
  out += "\"}";
  return out;
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 1; i < bounds_.size(); ++i)
    if (!(bounds_[i] > bounds_[i - 1])) throw std::invalid_argument("histogram bounds must increase");
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

void histogram::merge(const std::uint64_t* counts, std::size_t n, double sum) noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n && i <= bounds_.size(); ++i) {
    counts_[i].fetch_add(counts[i], std::memory_order_relaxed);
    total += counts[i];
  }
  count_.fetch_add(total, std::memory_order_relaxed);
  sum_.fetch_add(sum, std::memory_order_relaxed);
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string render_labels(const labels& l) {
  if (l.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (i) out += ',';
    out += l[i].first;
    out += "=\"";
    escape_into(out, l[i].second, true);
    out += '"';
  }
  out += '}';
  return out;
}

registry::family& registry::family_for(std::string_view name, std::string_view help, kind type) {
  if (!valid_name(name, true)) throw std::invalid_argument("invalid metric name: " + std::string(name));
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), family{type, std::string(help), {}, {}, {}}).first;
  if (it->second.type != type)
    throw std::invalid_argument("metric " + std::string(name) + " already registered with another type");
  return it->second;
}

namespace {
std::string checked_labels(const labels& l) {
  for (const auto& [k, v] : l)
    if (!valid_name(k, false) || k.starts_with("__") || k == "le")
      throw std::invalid_argument("invalid label name: " + k);
  return render_labels(l);
}
}  // namespace

counter& registry::get_counter(std::string_view name, std::string_view help, const labels& l) {
  std::string key = checked_labels(l);
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::counter).counters[key];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const labels& l) {
  std::string key = checked_labels(l);
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::gauge).gauges[key];
  if (!slot) slot = std::make_unique<gauge>();
  return *slot;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, const labels& l,
                                   std::vector<double> bounds) {
  std::string key = checked_labels(l);
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::histogram).histograms[key];
  if (!slot) slot = std::make_unique<histogram>(std::move(bounds));
  return *slot;
}

std::string registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + ' ';
    escape_into(out, fam.help, false);
    out += "\n# TYPE " + name + ' ';
    switch (fam.type) {
      case kind::counter:
        out += "counter\n";
        for (const auto& [key, c] : fam.counters) {
          out += name + key + ' ';
          append_number(out, c->value());
          out += '\n';
        }
        break;
      case kind::gauge:
        out += "gauge\n";
        for (const auto& [key, g] : fam.gauges) {
          out += name + key + ' ';
          append_number(out, g->value());
          out += '\n';
        }
        break;
      case kind::histogram:
        out += "histogram\n";
        for (const auto& [key, h] : fam.histograms) {
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i <= h->bounds().size(); ++i) {
            cumulative += h->bucket_count(i);
            std::string le;
            if (i == h->bounds().size()) le = "+Inf";
            else append_number(le, h->bounds()[i]);
            out += name + "_bucket" + with_le(key, le) + ' ' + std::to_string(cumulative) + '\n';
          }
          out += name + "_sum" + key + ' ';
          append_number(out, h->sum());
          out += '\n' + name + "_count" + key + ' ' + std::to_string(h->count()) + '\n';
        }
        break;
    }
  }
  return out;
}

}  // namespace banyan::metrics
