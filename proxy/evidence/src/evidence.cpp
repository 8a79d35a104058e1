#include "banyan/evidence/evidence.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>

namespace banyan::evidence {

namespace json = boost::json;

namespace {

json::value optional_number(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

std::optional<double> number_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}
std::int64_t integer_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<std::int64_t>() : 0;
}
bool bool_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}
std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

json::object to_json(const side_figures& s) {
  json::object o = to_json(s.latency, "latency_count");
  o["requests"] = s.requests;
  o["errors"] = s.errors;
  return o;
}
side_figures parse_side(const json::object& o) {
  return {integer_at(o, "requests"), integer_at(o, "errors"), parse_latency(o, "latency_count")};
}

json::object to_json(const shadow_figures& s) {
  const auto& p = s.parity;
  return {{"parity", json::object{{"percent", optional_number(p.percent)},
                                  {"matched", p.matched},
                                  {"compared", p.compared},
                                  {"window", p.window},
                                  {"min_compared", p.min_compared},
                                  {"enough", p.enough}}},
          {"counts", s.counts},
          {"copies", s.copies},
          {"service_errors", s.service_errors},
          {"latency_ms", json::object{{"monolith", to_json(s.monolith, "count")}, {"service", to_json(s.service, "count")}}}};
}
shadow_figures parse_shadow(const json::object& o) {
  shadow_figures s;
  if (const auto* p = object_at(o, "parity")) s.parity = parse_parity(*p);
  if (const auto* c = object_at(o, "counts")) s.counts = *c;
  s.copies = integer_at(o, "copies");
  s.service_errors = integer_at(o, "service_errors");
  if (const auto* l = object_at(o, "latency_ms")) {
    if (const auto* m = object_at(*l, "monolith")) s.monolith = parse_latency(*m, "count");
    if (const auto* v = object_at(*l, "service")) s.service = parse_latency(*v, "count");
  }
  return s;
}

sync_sample parse_sync(const json::object& o) {
  sync_sample s;
  s.service = string_at(o, "service");
  s.probed = bool_at(o, "probed");
  s.answered = bool_at(o, "answered");
  s.problem = string_at(o, "problem");
  s.age_ms = integer_at(o, "age_ms");
  if (const auto* st = object_at(o, "status")) {
    if (auto parsed = sync::parse_sync_status(json::serialize(*st))) {
      s.status = std::move(*parsed);
    } else {
      s.answered = false;
      s.problem = parsed.error();
    }
  }
  return s;
}

}  // namespace

bool sync_sample::operator==(const sync_sample& o) const {
  // sync_status has no ==: its JSON is its identity.
  const auto status_text = [](const std::optional<sync::sync_status>& s) {
    return s ? json::serialize(sync::to_json(*s)) : std::string();
  };
  return service == o.service && probed == o.probed && answered == o.answered && problem == o.problem &&
         age_ms == o.age_ms && status_text(status) == status_text(o.status);
}

json::object to_json(const latency_figures& l, const char* count_key) {
  json::object o{{"p50", optional_number(l.p50_ms)}, {"p90", optional_number(l.p90_ms)},
                 {"p99", optional_number(l.p99_ms)}, {count_key, l.count}};
  if (!l.histogram.empty()) {
    json::array h;
    for (const auto& [b, n] : l.histogram) h.push_back(json::array{b, n});
    o["histogram"] = std::move(h);
  }
  return o;
}

latency_figures parse_latency(const json::object& o, const char* count_key) {
  latency_figures l{number_at(o, "p50"), number_at(o, "p90"), number_at(o, "p99"), integer_at(o, count_key), {}};
  if (const auto* h = o.if_contains("histogram"); h && h->is_array())
    for (const auto& pair : h->as_array()) {
      if (!pair.is_array() || pair.as_array().size() != 2 || !pair.as_array()[0].is_number() ||
          !pair.as_array()[1].is_number())
        continue;
      const auto b = pair.as_array()[0].to_number<int>();
      if (b >= 0 && b < latency_bucket_count) l.histogram[b] += pair.as_array()[1].to_number<std::int64_t>();
    }
  return l;
}

latency_figures figures_of(const latency_histogram& h) {
  latency_figures f;
  for (const auto& [b, n] : h) f.count += n;
  f.histogram = h;
  if (f.count == 0) return f;
  auto at = [&](double p) {
    const auto rank = static_cast<std::int64_t>(std::ceil(p * static_cast<double>(f.count)));
    std::int64_t seen = 0;
    int bucket = h.rbegin()->first;
    for (const auto& [b, n] : h) {
      seen += n;
      if (seen >= rank) {
        bucket = b;
        break;
      }
    }
    return std::round(latency_bucket_ms(bucket) * 1000.0) / 1000.0;
  };
  f.p50_ms = at(0.50);
  f.p90_ms = at(0.90);
  f.p99_ms = at(0.99);
  return f;
}

parity_figures parse_parity(const json::object& p) {
  parity_figures f;
  f.percent = number_at(p, "percent");
  f.matched = integer_at(p, "matched");
  f.compared = integer_at(p, "compared");
  f.window = integer_at(p, "window");
  f.min_compared = integer_at(p, "min_compared");
  f.enough = bool_at(p, "enough");
  return f;
}

json::object to_json(const sync_sample& s) {
  json::object o{{"service", s.service}, {"probed", s.probed}, {"answered", s.answered},
                 {"problem", s.problem}, {"age_ms", s.age_ms}};
  if (s.status) o["status"] = sync::to_json(*s.status);
  return o;
}

json::object to_json(const evidence_doc& e) {
  json::object routes;
  for (const auto& [id, r] : e.routes) {
    json::object o{{"requests", r.requests},
                   {"monolith", to_json(r.monolith)},
                   {"service", to_json(r.service)},
                   {"monolith_baseline", to_json(r.monolith_baseline, "latency_count")},
                   {"shadow", r.shadow ? json::value(to_json(*r.shadow)) : json::value(nullptr)}};
    if (r.sync) o["service_sync"] = to_json(*r.sync);
    routes[id] = std::move(o);
  }
  json::object out{{"since_ms", e.since_ms}, {"now_ms", e.now_ms}, {"routes", std::move(routes)}};
  if (e.fleet) out["fleet"] = to_json(*e.fleet);
  return out;
}

json::object to_json(const fleet_coverage& c) {
  json::object missing;
  for (const auto& [instance, why] : c.missing) missing[instance] = why;
  return {{"asked", c.asked}, {"answered", c.answered}, {"missing", std::move(missing)}};
}

evidence_doc parse_evidence(const json::object& o) {
  evidence_doc e;
  e.since_ms = integer_at(o, "since_ms");
  e.now_ms = integer_at(o, "now_ms");
  if (const auto* f = object_at(o, "fleet")) {
    fleet_coverage c{integer_at(*f, "asked"), integer_at(*f, "answered"), {}};
    if (const auto* m = object_at(*f, "missing"))
      for (const auto& [instance, why] : *m) c.missing[std::string(instance)] = why.is_string() ? std::string(why.as_string()) : "";
    e.fleet = std::move(c);
  }
  const auto* routes = object_at(o, "routes");
  if (!routes) return e;
  for (const auto& [id, v] : *routes) {
    if (!v.is_object()) continue;
    const auto& ro = v.as_object();
    route_evidence r;
    r.requests = integer_at(ro, "requests");
    if (const auto* m = object_at(ro, "monolith")) r.monolith = parse_side(*m);
    if (const auto* s = object_at(ro, "service")) r.service = parse_side(*s);
    if (const auto* b = object_at(ro, "monolith_baseline")) r.monolith_baseline = parse_latency(*b, "latency_count");
    if (const auto* sh = object_at(ro, "shadow")) r.shadow = parse_shadow(*sh);
    if (const auto* sy = object_at(ro, "service_sync")) r.sync = parse_sync(*sy);
    e.routes.emplace(std::string(id), std::move(r));
  }
  return e;
}

namespace {

latency_figures merged(const latency_figures& a, const latency_figures& b) {
  latency_histogram h = a.histogram;
  for (const auto& [bucket, n] : b.histogram) h[bucket] += n;
  return figures_of(h);
}

void add_counts(json::object& into, const json::object& from) {
  for (const auto& [key, v] : from) {
    if (!v.is_number()) continue;
    const auto* have = into.if_contains(key);
    into[key] = (have && have->is_number() ? have->to_number<std::int64_t>() : 0) + v.to_number<std::int64_t>();
  }
}

}  // namespace

evidence_doc combine(const std::vector<evidence_doc>& docs) {
  evidence_doc out;
  out.since_ms = docs.front().since_ms;
  for (const auto& d : docs) {
    out.now_ms = std::max(out.now_ms, d.now_ms);
    for (const auto& [id, r] : d.routes) {
      auto [it, first] = out.routes.try_emplace(id);
      auto& c = it->second;
      if (first) {
        c = r;  // a histogram's figures are recomputed below, as for every later one
        c.monolith.latency = figures_of(r.monolith.latency.histogram);
        c.service.latency = figures_of(r.service.latency.histogram);
        c.monolith_baseline = figures_of(r.monolith_baseline.histogram);
        if (c.shadow) {
          c.shadow->monolith = figures_of(r.shadow->monolith.histogram);
          c.shadow->service = figures_of(r.shadow->service.histogram);
        }
        continue;
      }
      c.requests += r.requests;
      for (auto [mine, theirs] : {std::pair{&c.monolith, &r.monolith}, std::pair{&c.service, &r.service}}) {
        mine->requests += theirs->requests;
        mine->errors += theirs->errors;
        mine->latency = merged(mine->latency, theirs->latency);
      }
      c.monolith_baseline = merged(c.monolith_baseline, r.monolith_baseline);
      if (r.shadow) {
        if (!c.shadow) {
          c.shadow = r.shadow;
        } else {
          auto& s = *c.shadow;
          s.parity.matched += r.shadow->parity.matched;
          s.parity.compared += r.shadow->parity.compared;
          s.copies += r.shadow->copies;
          s.service_errors += r.shadow->service_errors;
          add_counts(s.counts, r.shadow->counts);
          s.monolith = merged(s.monolith, r.shadow->monolith);
          s.service = merged(s.service, r.shadow->service);
        }
      }
      // The freshest answer about the service's sync: every instance asks the same service.
      if (r.sync && (!c.sync || (r.sync->answered && (!c.sync->answered || r.sync->age_ms < c.sync->age_ms))))
        c.sync = r.sync;
    }
  }
  for (auto& [id, c] : out.routes) {
    if (!c.shadow) continue;
    auto& p = c.shadow->parity;
    // Over the union of every instance's comparisons (each within its own window).
    p.percent = p.compared > 0 ? std::optional<double>(std::round(10000.0 * static_cast<double>(p.matched) /
                                                                  static_cast<double>(p.compared)) / 100.0)
                               : std::nullopt;
    p.enough = p.compared >= p.min_compared;
  }
  return out;
}

}  // namespace banyan::evidence
