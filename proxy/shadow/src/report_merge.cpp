// A fleet's shadow report: each instance keeps its shadow store and answers its own report; the
// instance asked merges them (docs/fleet.md). What adds up is added, what is a sample is kept.
#include "banyan/evidence/evidence.hpp"
#include "banyan/shadow/report.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cmath>
#include <map>

namespace banyan::shadow {

namespace json = boost::json;

namespace {

std::int64_t int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

void add_numbers(json::object& into, const json::object& from) {
  for (const auto& [key, v] : from) {
    if (v.is_number()) into[key] = int_of(into, key) + v.to_number<std::int64_t>();
    else if (v.is_object() && into.contains(key) && into.at(key).is_object()) add_numbers(into.at(key).as_object(), v.as_object());
    else if (!into.contains(key)) into[key] = v;
  }
}

json::value percent(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return nullptr;
  return std::round(10000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 100.0;
}

// One route's reports from several instances, in one.
json::object merge_route(const std::vector<const json::object*>& parts) {
  json::object out = *parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto& r = *parts[i];
    add_numbers(out["parity"].as_object(), json::object{{"matched", int_of(r.at("parity").as_object(), "matched")},
                                                        {"compared", int_of(r.at("parity").as_object(), "compared")}});
    add_numbers(out["counts"].as_object(), r.at("counts").as_object());
    add_numbers(out["status"].as_object(), r.at("status").as_object());
    // Differing paths: counts added, kinds united, samples kept (each instance's few).
    auto& paths = out["paths"].as_array();
    for (const auto& p : r.at("paths").as_array()) {
      const auto& po = p.as_object();
      auto same = std::find_if(paths.begin(), paths.end(), [&](const json::value& x) { return x.at("path") == po.at("path"); });
      if (same == paths.end()) {
        paths.push_back(po);
        continue;
      }
      auto& mine = same->as_object();
      mine["count"] = int_of(mine, "count") + int_of(po, "count");
      auto& kinds = mine["kinds"].as_array();
      for (const auto& k : po.at("kinds").as_array())
        if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
      auto& samples = mine["samples"].as_array();
      for (const auto& s : po.at("samples").as_array()) samples.push_back(s);
    }
    // Learned noise: what any instance learned is noise (each learned it from its own re-asks).
    auto& noise = out["noise"].as_array();
    for (const auto& n : r.at("noise").as_array())
      if (std::none_of(noise.begin(), noise.end(), [&](const json::value& x) { return x.at("path") == n.at("path"); }))
        noise.push_back(n);
    // Latency from the summed histograms.
    auto& latency = out["latency_ms"].as_object();
    for (const char* side : {"monolith", "service"}) {
      auto mine = evidence::parse_latency(latency.at(side).as_object(), "count");
      const auto theirs = evidence::parse_latency(r.at("latency_ms").at(side).as_object(), "count");
      for (const auto& [b, n] : theirs.histogram) mine.histogram[b] += n;
      latency[side] = evidence::to_json(evidence::figures_of(mine.histogram), "count");
    }
    // Parity over time: every instance's slices, in time order.
    auto& timeline = out["timeline"].as_array();
    for (const auto& t : r.at("timeline").as_array()) timeline.push_back(t);
  }
  auto& parity = out["parity"].as_object();
  const auto matched = int_of(parity, "matched"), compared = int_of(parity, "compared");
  parity["percent"] = percent(matched, compared);
  parity["enough"] = compared > 0 && compared >= int_of(parity, "min_compared");
  // Shares of the fleet's comparisons, most frequent first.
  const auto all = int_of(out["counts"].as_object(), "compared");
  auto& paths = out["paths"].as_array();
  for (auto& p : paths) p.as_object()["share"] = percent(int_of(p.as_object(), "count"), all);
  std::stable_sort(paths.begin(), paths.end(),
                   [](const json::value& a, const json::value& b) { return int_of(a.as_object(), "count") > int_of(b.as_object(), "count"); });
  auto& timeline = out["timeline"].as_array();
  std::stable_sort(timeline.begin(), timeline.end(), [](const json::value& a, const json::value& b) {
    return int_of(a.as_object(), "at_ms") < int_of(b.as_object(), "at_ms");
  });
  return out;
}

}  // namespace

json::object merge_reports(const std::vector<json::object>& reports) {
  json::object out{{"generated_at_ms", 0},
                   {"since_ms", reports.front().contains("since_ms") ? reports.front().at("since_ms") : json::value(0)},
                   {"window", reports.front().contains("window") ? reports.front().at("window") : json::value(0)}};
  std::map<std::string, std::vector<const json::object*>> routes;
  std::vector<std::string> order;
  for (const auto& r : reports) {
    out["generated_at_ms"] = std::max(int_of(out, "generated_at_ms"), int_of(r, "generated_at_ms"));
    const auto* list = r.if_contains("routes");
    if (!list || !list->is_array()) continue;
    for (const auto& route : list->as_array()) {
      if (!route.is_object() || !route.as_object().contains("route")) continue;
      const std::string id(route.at("route").as_string());
      if (!routes.contains(id)) order.push_back(id);
      routes[id].push_back(&route.as_object());
    }
  }
  json::array merged;
  for (const auto& id : order) merged.push_back(merge_route(routes[id]));
  out["routes"] = std::move(merged);
  return out;
}

}  // namespace banyan::shadow
