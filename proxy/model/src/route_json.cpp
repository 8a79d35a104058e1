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
  if (r.shadow.dry_run_writes) o["writes"] = "dry-run";
  const shadow_settings defaults;
  if (r.shadow.sample_bp != defaults.sample_bp || r.shadow.sample_by_key || r.shadow.reverse ||
      r.shadow.max_compare_bytes != defaults.max_compare_bytes) {
    json::object sh;
    if (r.shadow.sample_bp % 100 == 0) sh["sample"] = static_cast<std::int64_t>(r.shadow.sample_bp / 100);
    else sh["sample"] = static_cast<double>(r.shadow.sample_bp) / 100.0;
    sh["consistent"] = r.shadow.sample_by_key;
    sh["reverse"] = r.shadow.reverse;
    sh["max_compare_bytes"] = r.shadow.max_compare_bytes;
    o["shadow"] = std::move(sh);
  }
  if (r.shadow.compare != compare_settings{}) {
    const auto& c = r.shadow.compare;
    auto list = [](const std::vector<std::string>& v) {
      json::array a;
      for (const auto& s : v) a.push_back(json::string(s));
      return a;
    };
    json::object unordered;
    for (const auto& [path, key] : c.unordered) unordered[path] = key;
    o["compare"] = json::object{{"ignore", list(c.ignore)},
                                {"headers", list(c.headers)},
                                {"ignore_headers", list(c.ignore_headers)},
                                {"tolerance", c.tolerance},
                                {"unordered", std::move(unordered)},
                                {"redact", list(c.redact)},
                                {"redact_headers", list(c.redact_headers)}};
    if (!c.version.empty()) o["compare"].as_object()["version"] = c.version;
  }
  return o;
}

namespace {
double number_of(const json::value& v, bool& ok) {
  ok = true;
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  ok = false;
  return 0;
}

bool percent_to_bp(const json::value& v, std::uint32_t& out) {
  bool ok = false;
  const double percent = number_of(v, ok);
  const double bp = std::round(percent * 100.0);
  if (!ok || !(percent >= 0 && percent <= 100) || std::fabs(bp - percent * 100.0) > 1e-6) return false;
  out = static_cast<std::uint32_t>(bp);
  return true;
}

void read_shadow_json(const json::object& o, shadow_settings& s, std::vector<std::string>& problems) {
  if (const auto* w = o.if_contains("writes"); w && !w->is_null()) {
    if (w->is_string() && w->as_string() == "dry-run") s.dry_run_writes = true;
    else if (!(w->is_string() && w->as_string() == "skip")) problems.push_back("writes must be \"skip\" or \"dry-run\"");
  }
  if (const auto* sh = o.if_contains("shadow"); sh && !sh->is_null()) {
    if (!sh->is_object()) {
      problems.push_back("shadow must be an object");
    } else {
      const auto& so = sh->as_object();
      for (const auto& kv : so)
        if (kv.key() != "sample" && kv.key() != "consistent" && kv.key() != "reverse" && kv.key() != "max_compare_bytes")
          problems.push_back("unknown field 'shadow." + std::string(kv.key()) + "'");
      if (const auto* v = so.if_contains("sample"); v && !percent_to_bp(*v, s.sample_bp))
        problems.push_back("shadow.sample must be a number from 0 to 100 with at most two decimals");
      auto flag = [&](const char* key, bool& out) {
        if (const auto* v = so.if_contains(key)) {
          if (v->is_bool()) out = v->as_bool();
          else problems.push_back(std::string("shadow.") + key + " must be true or false");
        }
      };
      flag("consistent", s.sample_by_key);
      flag("reverse", s.reverse);
      if (const auto* v = so.if_contains("max_compare_bytes")) {
        if (v->is_uint64() || (v->is_int64() && v->as_int64() >= 0)) s.max_compare_bytes = v->to_number<std::uint64_t>();
        else problems.push_back("shadow.max_compare_bytes must be a number of bytes");
      }
    }
  }
  if (const auto* c = o.if_contains("compare"); c && !c->is_null()) {
    if (!c->is_object()) {
      problems.push_back("compare must be an object");
      return;
    }
    const auto& co = c->as_object();
    auto& cs = s.compare;
    auto list = [&](const char* key, std::vector<std::string>& out) {
      const auto* v = co.if_contains(key);
      if (!v) return;
      if (!v->is_array()) {
        problems.push_back(std::string("compare.") + key + " must be an array of strings");
        return;
      }
      for (const auto& item : v->as_array()) {
        if (item.is_string()) out.emplace_back(item.as_string());
        else problems.push_back(std::string("compare.") + key + " must be an array of strings");
      }
    };
    for (const auto& kv : co)
      if (kv.key() != "ignore" && kv.key() != "headers" && kv.key() != "ignore_headers" && kv.key() != "tolerance" &&
          kv.key() != "unordered" && kv.key() != "redact" && kv.key() != "redact_headers" && kv.key() != "version")
        problems.push_back("unknown field 'compare." + std::string(kv.key()) + "'");
    list("ignore", cs.ignore);
    list("headers", cs.headers);
    list("ignore_headers", cs.ignore_headers);
    list("redact", cs.redact);
    list("redact_headers", cs.redact_headers);
    if (const auto* v = co.if_contains("version")) {
      if (!v->is_string() || v->as_string().empty()) problems.push_back("compare.version must name a member, such as updated_at");
      else cs.version = std::string(v->as_string());
    }
    if (const auto* t = co.if_contains("tolerance")) {
      bool ok = false;
      cs.tolerance = number_of(*t, ok);
      if (!ok || cs.tolerance < 0) problems.push_back("compare.tolerance must be a number of at least 0");
    }
    if (const auto* u = co.if_contains("unordered")) {
      if (!u->is_object()) problems.push_back("compare.unordered must map array paths to key fields");
      else
        for (const auto& kv : u->as_object()) {
          if (kv.value().is_string()) cs.unordered.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
          else problems.push_back("compare.unordered must map array paths to key fields");
        }
    }
  }
}
}  // namespace

bool route_from_json(const json::value& v, route& out, std::vector<std::string>& problems) {
  const std::size_t before = problems.size();
  if (!v.is_object()) {
    problems.push_back("a route must be an object");
    return false;
  }
  const auto& o = v.as_object();
  for (const auto& kv : o)
    if (kv.key() != "id" && kv.key() != "match" && kv.key() != "service" && kv.key() != "mode" &&
        kv.key() != "percent" && kv.key() != "canary_key" && kv.key() != "writes" && kv.key() != "shadow" &&
        kv.key() != "compare")
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
  if (const auto* p = o.if_contains("percent"); p && !p->is_null() && !percent_to_bp(*p, out.percent_bp))
    problems.push_back("percent must be a number from 0 to 100 with at most two decimals");
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
  read_shadow_json(o, out.shadow, problems);
  return problems.size() == before;
}

}  // namespace banyan::proxy
