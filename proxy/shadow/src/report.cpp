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


// Percentiles from a latency histogram (bucket → count), and the histogram itself: a fleet's
// instances' histograms add up, their percentiles do not.
json::object latency(const std::map<int, std::int64_t>& histogram) {
  return evidence::to_json(evidence::figures_of(histogram), "count");
}

json::value percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return nullptr;
  return std::round(10000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 100.0;
}

}  // namespace

boost::json::object build_report(const report_input& in, const report_options& o) {
  // Group by route, keeping store order (oldest second first).
  std::map<std::string, std::vector<const result_row*>> by_route;
  std::set<std::string> routes;
  for (const auto& r : in.results) {
    by_route[r.key.route].push_back(&r);
    routes.insert(r.key.route);
  }
  std::map<std::string, std::map<std::string, std::map<int, std::int64_t>>> histograms;  // route → side → bucket
  for (const auto& l : in.latency) histograms[l.key.route][l.key.side][l.key.bucket] += l.count;
  std::map<std::string, std::map<std::string, std::int64_t>> counters;
  for (const auto& c : in.counters) {
    counters[c.route][c.name] += c.value;
    routes.insert(c.route);
  }
  std::map<std::string, std::set<std::string, std::less<>>> noise_paths;
  for (const auto& n : in.noise) {
    if (is_learned_noise(n.seen, counters[n.route]["noise_probes"])) noise_paths[n.route].insert(n.path);
    routes.insert(n.route);
  }
  json::array out_routes;
  for (const auto& route : routes) {
    if (!o.route.empty() && route != o.route) continue;
    const auto& rows = by_route[route];
    const auto& noise = noise_paths[route];
    // Learned noise applies to every comparison, also those recorded before it was learned.
    // Decided once per row: counts, the parity window and the timeline all use it.
    std::map<const result_row*, bool> matched_rows;
    for (const auto* r : rows) {
      const auto list = r->path_list();
      matched_rows[r] =
          std::all_of(list.begin(), list.end(), [&](const std::string& e) { return noise.count(place_of(e)) != 0; });
    }
    auto matches = [&](const result_row& r) { return matched_rows.at(&r); };
    std::int64_t compared = 0, matched = 0, too_large = 0, no_answer = 0, stale = 0;
    std::map<std::string, std::map<std::string, std::int64_t>> confusion;
    std::map<std::string, std::pair<std::int64_t, std::set<std::string>>> places;  // place → count, kinds
    for (const auto* r : rows) {
      const auto n = r->count;
      if (r->key.outcome == "compared") {
        compared += n;
        if (matches(*r)) matched += n;
        std::set<std::string_view> seen;  // a place counts once per comparison
        const auto list = r->path_list();
        for (const auto& e : list) {
          const auto place = place_of(e);
          if (noise.count(place) || !seen.insert(place).second) continue;
          auto& p = places[std::string(place)];
          p.first += n;
          p.second.insert(std::string(kind_of(e)));
        }
      } else if (r->key.outcome == "too_large") {
        too_large += n;
      } else if (r->key.outcome == "stale") {
        stale += n;
      } else {
        no_answer += n;
      }
      confusion[r->key.monolith_class][r->key.service_class] += n;
    }
    // Parity over the last `window` compared requests: whole seconds from the newest back, the
    // oldest second taken in proportion when it crosses the window's edge.
    double win = 0, win_matched = 0;
    for (auto it = rows.rbegin(); it != rows.rend() && win < static_cast<double>(o.window); ++it) {
      if ((*it)->key.outcome != "compared") continue;
      const double n = static_cast<double>((*it)->count);
      const double take = std::min(n, static_cast<double>(o.window) - win);
      win += take;
      if (matches(**it)) win_matched += take;
    }
    const auto win_n = static_cast<std::int64_t>(std::llround(win));
    const auto win_m = static_cast<std::int64_t>(std::llround(win_matched));
    json::object parity{{"percent", win_n ? json::value(std::round(10000.0 * win_matched / win) / 100.0) : json::value()},
                        {"matched", win_m},
                        {"compared", win_n},
                        {"window", static_cast<std::uint64_t>(o.window)},
                        {"min_compared", static_cast<std::uint64_t>(o.min_compared)},
                        {"enough", win_n > 0 && static_cast<std::size_t>(win_n) >= o.min_compared}};
    auto& cnt = counters[route];
    json::object counts{{"compared", compared},
                        {"matched", matched},
                        {"too_large", cnt["too_large"] + too_large},
                        {"no_answer", cnt["no_answer"] + no_answer},
                        {"skipped_writes", cnt["skipped_writes"]},
                        {"dropped", cnt["dropped"]},
                        {"noise_probes", cnt["noise_probes"]},
                        {"stale", stale}};
    // Places, most frequent first, each with its samples.
    std::vector<std::pair<std::string, std::pair<std::int64_t, std::set<std::string>>>> sorted(places.begin(),
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
                                   {"share", percent(static_cast<std::uint64_t>(info.first), static_cast<std::uint64_t>(compared))},
                                   {"kinds", std::move(kinds)},
                                   {"samples", std::move(samples)}});
    }
    json::array noise_out;
    for (const auto& n : in.noise) {
      if (n.route != route || !noise.count(n.path)) continue;  // differed too seldom to be noise
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
    // Parity over time: equal slices from the first second with results to now.
    json::array timeline;
    if (!rows.empty() && o.timeline_buckets > 0) {
      const std::int64_t start = rows.front()->key.second;
      const std::int64_t end = std::max(o.now_ms / 1000, rows.back()->key.second) + 1;
      const auto slices = static_cast<std::int64_t>(o.timeline_buckets);
      const std::int64_t width = std::max<std::int64_t>(1, (end - start + slices - 1) / slices);
      std::vector<std::pair<std::int64_t, std::int64_t>> buckets(o.timeline_buckets);
      for (const auto* r : rows) {
        if (r->key.outcome != "compared") continue;
        const auto b = std::min<std::size_t>(static_cast<std::size_t>((r->key.second - start) / width), buckets.size() - 1);
        buckets[b].first += r->count;
        if (matches(*r)) buckets[b].second += r->count;
      }
      for (std::size_t b = 0; b < buckets.size(); ++b)
        timeline.push_back(json::object{{"at_ms", (start + static_cast<std::int64_t>(b) * width) * 1000},
                                        {"compared", buckets[b].first},
                                        {"matched", buckets[b].second},
                                        {"parity", percent(static_cast<std::uint64_t>(buckets[b].second),
                                                           static_cast<std::uint64_t>(buckets[b].first))}});
    }
    auto& hist = histograms[route];
    out_routes.push_back(json::object{{"route", route},
                                      {"parity", std::move(parity)},
                                      {"counts", std::move(counts)},
                                      {"paths", std::move(paths)},
                                      {"noise", std::move(noise_out)},
                                      {"status", std::move(status)},
                                      {"latency_ms", json::object{{"monolith", latency(hist["monolith"])},
                                                                  {"service", latency(hist["service"])}}},
                                      {"timeline", std::move(timeline)}});
  }
  return {{"generated_at_ms", o.now_ms},
          {"since_ms", o.since_ms},
          {"window", static_cast<std::uint64_t>(o.window)},
          {"routes", std::move(out_routes)}};
}

evidence::evidence_doc build_evidence(const evidence_input& in) {
  struct side {
    std::int64_t requests = 0, errors = 0;
    std::map<int, std::int64_t> histogram;
  };
  std::map<std::string, std::map<std::string, side>> traffic;  // route → upstream → figures
  for (const auto& t : in.traffic) {
    auto& s = traffic[t.key.route][t.key.upstream];
    s.requests += t.count;
    if (t.key.status_class == "5xx" || t.key.status_class == "error") s.errors += t.count;
  }
  for (const auto& l : in.traffic_latency) traffic[l.key.route][l.key.side].histogram[l.key.bucket] += l.count;
  std::map<std::string, std::map<int, std::int64_t>> baseline;
  for (const auto& l : in.baseline_latency)
    if (l.key.side == "monolith") baseline[l.key.route][l.key.bucket] += l.count;
  std::map<std::string, const json::object*> shadow;
  for (const auto& r : in.shadow.at("routes").as_array()) shadow[std::string(r.at("route").as_string())] = &r.as_object();

  std::set<std::string> ids;
  for (const auto& [id, _] : traffic) ids.insert(id);
  for (const auto& [id, _] : shadow) ids.insert(id);
  evidence::evidence_doc doc;
  doc.since_ms = in.since_ms;
  doc.now_ms = in.now_ms;
  for (const auto& id : ids) {
    auto& t = traffic[id];
    auto figures = [](side& s) {
      return evidence::side_figures{s.requests, s.errors, evidence::figures_of(s.histogram)};
    };
    evidence::route_evidence r;
    r.requests = t["monolith"].requests + t["service"].requests;
    r.monolith = figures(t["monolith"]);
    r.service = figures(t["service"]);
    r.monolith_baseline = evidence::figures_of(baseline[id]);
    if (auto it = shadow.find(id); it != shadow.end()) {
      const auto& report_route = *it->second;
      evidence::shadow_figures sh;
      for (const auto& [mc, row] : report_route.at("status").as_object())
        for (const auto& [sc, n] : row.as_object()) {
          sh.copies += n.to_number<std::int64_t>();
          if (sc == "5xx" || sc == "none") sh.service_errors += n.to_number<std::int64_t>();
        }
      // The report writes parity and latency in the contract's shape: read them with its decoder.
      sh.parity = evidence::parse_parity(report_route.at("parity").as_object());
      sh.counts = report_route.at("counts").as_object();
      const auto& lat = report_route.at("latency_ms").as_object();
      sh.monolith = evidence::parse_latency(lat.at("monolith").as_object(), "count");
      sh.service = evidence::parse_latency(lat.at("service").as_object(), "count");
      r.shadow = std::move(sh);
    }
    doc.routes.emplace(id, std::move(r));
  }
  return doc;
}

}  // namespace banyan::shadow
