#include "banyan/shadow/report.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace banyan::shadow {

namespace json = boost::json;

std::string_view place_of(std::string_view entry) noexcept {
  const auto sp = entry.find(' ');
  return sp == std::string_view::npos ? entry : entry.substr(sp + 1);
}

std::string_view kind_of(std::string_view entry) noexcept {
  const auto sp = entry.find(' ');
  return sp == std::string_view::npos ? std::string_view() : entry.substr(0, sp);
}

namespace {

const char* status_class(int status) {
  switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "none";
  }
}

json::value percentile(std::vector<double> v, double p) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return std::round(v[std::min(rank, v.size() - 1)] * 1000.0) / 1000.0;
}

json::object latency(const std::vector<double>& v) {
  return {{"p50", percentile(v, 0.50)}, {"p90", percentile(v, 0.90)}, {"p99", percentile(v, 0.99)},
          {"count", static_cast<std::uint64_t>(v.size())}};
}

json::value percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return nullptr;
  return std::round(10000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 100.0;
}

}  // namespace

boost::json::object build_report(const report_input& in, const report_options& o) {
  // Group by route, keeping store order (oldest first).
  std::map<std::string, std::vector<const comparison_record*>> by_route;
  std::set<std::string> routes;
  for (const auto& c : in.comparisons) {
    by_route[c.route].push_back(&c);
    routes.insert(c.route);
  }
  std::map<std::string, std::set<std::string, std::less<>>> noise_paths;
  for (const auto& n : in.noise) {
    noise_paths[n.route].insert(n.path);
    routes.insert(n.route);
  }
  std::map<std::string, std::map<std::string, std::int64_t>> counters;
  for (const auto& c : in.counters) {
    counters[c.route][c.name] += c.value;
    routes.insert(c.route);
  }
  json::array out_routes;
  for (const auto& route : routes) {
    if (!o.route.empty() && route != o.route) continue;
    const auto& rows = by_route[route];
    const auto& noise = noise_paths[route];
    auto matches = [&](const comparison_record& c) {
      return std::all_of(c.paths.begin(), c.paths.end(),
                         [&](const std::string& e) { return noise.count(place_of(e)) != 0; });
    };
    std::uint64_t compared = 0, matched = 0, too_large = 0, no_answer = 0;
    std::vector<double> lat_m, lat_s;
    std::map<std::string, std::map<std::string, std::uint64_t>> confusion;
    std::map<std::string, std::pair<std::uint64_t, std::set<std::string>>> places;  // place → count, kinds
    for (const auto* c : rows) {
      if (c->outcome == "compared") {
        ++compared;
        if (matches(*c)) ++matched;
        std::set<std::string_view> seen;  // a place counts once per comparison
        for (const auto& e : c->paths) {
          const auto place = place_of(e);
          if (noise.count(place) || !seen.insert(place).second) continue;
          auto& p = places[std::string(place)];
          ++p.first;
          p.second.insert(std::string(kind_of(e)));
        }
      } else if (c->outcome == "too_large") {
        ++too_large;
      } else {
        ++no_answer;
      }
      if (c->monolith_status) lat_m.push_back(c->monolith_ms);
      if (c->service_status) lat_s.push_back(c->service_ms);
      ++confusion[status_class(c->monolith_status)][status_class(c->service_status)];
    }
    // Parity: the last `window` compared requests.
    std::uint64_t win = 0, win_matched = 0;
    for (auto it = rows.rbegin(); it != rows.rend() && win < o.window; ++it) {
      if ((*it)->outcome != "compared") continue;
      ++win;
      if (matches(**it)) ++win_matched;
    }
    json::object parity{{"percent", percent(win_matched, win)},
                        {"matched", win_matched},
                        {"compared", win},
                        {"window", static_cast<std::uint64_t>(o.window)},
                        {"min_compared", static_cast<std::uint64_t>(o.min_compared)},
                        {"enough", win >= o.min_compared && win > 0}};
    auto& cnt = counters[route];
    json::object counts{{"compared", compared},
                        {"matched", matched},
                        {"too_large", static_cast<std::uint64_t>(cnt["too_large"]) + too_large},
                        {"no_answer", static_cast<std::uint64_t>(cnt["no_answer"]) + no_answer},
                        {"skipped_writes", cnt["skipped_writes"]},
                        {"dropped", cnt["dropped"]},
                        {"noise_probes", cnt["noise_probes"]}};
    // Places, most frequent first, each with its samples.
    std::vector<std::pair<std::string, std::pair<std::uint64_t, std::set<std::string>>>> sorted(places.begin(),
                                                                                                  places.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    json::array paths;
    for (const auto& [place, info] : sorted) {
      json::array kinds;
      for (const auto& k : info.second) kinds.push_back(json::string(k));
      json::array samples;
      for (const auto& s : in.samples) {
        if (s.route != route || s.path != place) continue;
        samples.push_back(json::object{{"at_ms", s.at_ms},
                                       {"request_id", s.request_id},
                                       {"method", s.method},
                                       {"target", s.target},
                                       {"where", s.where},
                                       {"kind", s.kind},
                                       {"monolith", s.monolith_value},
                                       {"service", s.service_value},
                                       {"request", s.request},
                                       {"monolith_response", s.monolith_response},
                                       {"service_response", s.service_response}});
      }
      paths.push_back(json::object{{"path", place},
                                   {"count", info.first},
                                   {"share", percent(info.first, compared)},
                                   {"kinds", std::move(kinds)},
                                   {"samples", std::move(samples)}});
    }
    json::array noise_out;
    for (const auto& n : in.noise) {
      if (n.route != route) continue;
      noise_out.push_back(json::object{{"path", n.path},
                                       {"seen", n.seen},
                                       {"probes", cnt["noise_probes"]},
                                       {"example", json::array{json::string(n.example_a), json::string(n.example_b)}},
                                       {"first_at_ms", n.first_at_ms},
                                       {"last_at_ms", n.last_at_ms}});
    }
    json::object status;
    for (const auto& [mc, row] : confusion) {
      json::object r;
      for (const auto& [sc, n] : row) r[sc] = n;
      status[mc] = std::move(r);
    }
    // Parity over time: equal slices from the first comparison to now.
    json::array timeline;
    if (!rows.empty() && o.timeline_buckets > 0) {
      const std::int64_t start = rows.front()->at_ms;
      const std::int64_t end = std::max(o.now_ms, rows.back()->at_ms) + 1;
      const std::int64_t width = std::max<std::int64_t>(1, (end - start + static_cast<std::int64_t>(o.timeline_buckets) - 1) /
                                                             static_cast<std::int64_t>(o.timeline_buckets));
      std::vector<std::pair<std::uint64_t, std::uint64_t>> buckets(o.timeline_buckets);
      for (const auto* c : rows) {
        if (c->outcome != "compared") continue;
        const auto b = std::min<std::size_t>(static_cast<std::size_t>((c->at_ms - start) / width), buckets.size() - 1);
        ++buckets[b].first;
        if (matches(*c)) ++buckets[b].second;
      }
      for (std::size_t b = 0; b < buckets.size(); ++b)
        timeline.push_back(json::object{{"at_ms", start + static_cast<std::int64_t>(b) * width},
                                        {"compared", buckets[b].first},
                                        {"matched", buckets[b].second},
                                        {"parity", percent(buckets[b].second, buckets[b].first)}});
    }
    out_routes.push_back(json::object{{"route", route},
                                      {"parity", std::move(parity)},
                                      {"counts", std::move(counts)},
                                      {"paths", std::move(paths)},
                                      {"noise", std::move(noise_out)},
                                      {"status", std::move(status)},
                                      {"latency_ms", json::object{{"monolith", latency(lat_m)}, {"service", latency(lat_s)}}},
                                      {"timeline", std::move(timeline)}});
  }
  return {{"generated_at_ms", o.now_ms},
          {"since_ms", o.since_ms},
          {"window", static_cast<std::uint64_t>(o.window)},
          {"routes", std::move(out_routes)}};
}

}  // namespace banyan::shadow
