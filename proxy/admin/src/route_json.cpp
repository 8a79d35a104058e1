#include "banyan/proxy/route_json.hpp"

#include "banyan/proxy/bucket.hpp"

#include <boost/json/array.hpp>

#include <cmath>

namespace banyan::proxy {

namespace json = boost::json;

json::object route_to_json(const route& r) {
  json::array methods;
  for (const auto& m : r.methods) methods.push_back(json::string(m));
  json::object o{{"id", r.id},
                 {"match", json::object{{"methods", std::move(methods)}, {"path", r.path}}},
                 {"service", r.service},
                 {"mode", to_string(r.mode)}};
  // Whole percents as integers; Boost.JSON would print 0.0 as 0E0.
  if (r.percent_bp % 100 == 0) o["percent"] = static_cast<std::int64_t>(r.percent_bp / 100);
  else o["percent"] = static_cast<double>(r.percent_bp) / 100.0;
  switch (r.key.from) {
    case canary_key::source::client_address: o["canary_key"] = "client_address"; break;
    case canary_key::source::header: o["canary_key"] = json::object{{"header", r.key.name}}; break;
    case canary_key::source::cookie: o["canary_key"] = json::object{{"cookie", r.key.name}}; break;
  }
  return o;
}

bool route_from_json(const json::value& v, route& out, std::vector<std::string>& problems) {
  const std::size_t before = problems.size();
  if (!v.is_object()) {
    problems.push_back("a route must be an object");
    return false;
  }
  const auto& o = v.as_object();
  for (const auto& kv : o)
    if (kv.key() != "id" && kv.key() != "match" && kv.key() != "service" && kv.key() != "mode" &&
        kv.key() != "percent" && kv.key() != "canary_key")
      problems.push_back("unknown field '" + std::string(kv.key()) + "'");
  auto str = [&](std::string_view key, std::string& dst, bool required) {
    const auto* f = o.if_contains(key);
    if (!f || f->is_null()) {
      if (required) problems.push_back(std::string(key) + " is required");
      return;
    }
    if (!f->is_string()) problems.push_back(std::string(key) + " must be a string");
    else dst = std::string(f->as_string());
  };
  str("id", out.id, true);
  str("service", out.service, false);
  if (const auto* m = o.if_contains("match"); m && m->is_object()) {
    const auto& match = m->as_object();
    if (const auto* p = match.if_contains("path"); p && p->is_string()) out.path = std::string(p->as_string());
    else problems.push_back("match.path is required");
    if (const auto* ms = match.if_contains("methods")) {
      if (!ms->is_array()) problems.push_back("match.methods must be an array");
      else
        for (const auto& method : ms->as_array()) {
          if (!method.is_string()) {
            problems.push_back("match.methods must hold strings");
            continue;
          }
          out.methods.emplace_back(method.as_string());
        }
    }
  } else {
    problems.push_back("match is required (an object with path and methods)");
  }
  std::string mode = "monolith";
  str("mode", mode, false);
  if (!parse_mode(mode, out.mode)) problems.push_back("mode must be monolith, shadow, canary or service");
  if (const auto* p = o.if_contains("percent"); p && !p->is_null()) {
    double percent = -1;
    if (p->is_int64()) percent = static_cast<double>(p->as_int64());
    else if (p->is_uint64()) percent = static_cast<double>(p->as_uint64());
    else if (p->is_double()) percent = p->as_double();
    const double bp = std::round(percent * 100.0);
    if (!(percent >= 0 && percent <= 100) || std::fabs(bp - percent * 100.0) > 1e-6)
      problems.push_back("percent must be a number from 0 to 100 with at most two decimals");
    else
      out.percent_bp = static_cast<std::uint32_t>(bp);
  }
  if (const auto* k = o.if_contains("canary_key"); k && !k->is_null()) {
    if (k->is_string() && k->as_string() == "client_address") {
      out.key = {};
    } else if (k->is_object() && k->as_object().if_contains("header") && k->at("header").is_string()) {
      out.key = {canary_key::source::header, std::string(k->at("header").as_string())};
    } else if (k->is_object() && k->as_object().if_contains("cookie") && k->at("cookie").is_string()) {
      out.key = {canary_key::source::cookie, std::string(k->at("cookie").as_string())};
    } else {
      problems.push_back("canary_key must be \"client_address\", {\"header\": NAME} or {\"cookie\": NAME}");
    }
  }
  return problems.size() == before;
}

}  // namespace banyan::proxy
