#include "banyan/proxy/route_yaml.hpp"

#include "banyan/proxy/bucket.hpp"
#include "banyan/shadow/json_path.hpp"

#include <cstdlib>

namespace banyan::proxy {

namespace {

void read_strings(yaml_reader& r, const YAML::Node& n, std::string_view what, std::vector<std::string>& out) {
  if (!n) return;
  if (!n.IsSequence()) {
    r.error(n, std::string(what) + " must be a list");
    return;
  }
  for (const auto& item : n) {
    std::string text;
    if (r.scalar(item, what, text)) out.push_back(text);
  }
}

void read_paths(yaml_reader& r, const YAML::Node& n, std::string_view what, std::vector<std::string>& out) {
  read_strings(r, n, what, out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    shadow::path_pattern p;
    std::string why;
    if (!shadow::path_pattern::parse(out[i], p, why)) r.error(n[i], std::string(what) + ": " + why);
  }
}

// writes, shadow and compare: how a shadowed route's copies are taken and compared.
void read_shadow(yaml_reader& r, const YAML::Node& n, shadow_settings& s) {
  std::string text;
  if (auto w = n["writes"]; w && r.scalar(w, "writes", text)) {
    if (text == "dry-run") s.dry_run_writes = true;
    else if (text != "skip") r.error(w, "writes must be skip or dry-run, got '" + text + "'");
  }
  if (auto sh = n["shadow"]; sh && r.is_map(sh, "shadow")) {
    r.check_keys(sh, {"sample", "consistent", "reverse", "max_compare_bytes"}, "shadow");
    if (auto v = sh["sample"]; v && r.scalar(v, "sample", text)) {
      std::string_view number = text;
      if (number.ends_with('%')) number.remove_suffix(1);  // "25%" and "25" alike
      if (!parse_percent(number, s.sample_bp))
        r.error(v, "sample must be a percent from 0 to 100 (at most two decimals), got '" + text + "'");
    }
    auto flag = [&](const char* key, bool& out) {
      if (auto v = sh[key]; v && r.scalar(v, key, text)) {
        if (text == "true") out = true;
        else if (text == "false") out = false;
        else r.error(v, std::string(key) + " must be true or false");
      }
    };
    flag("consistent", s.sample_by_key);
    flag("reverse", s.reverse);
    if (auto v = sh["max_compare_bytes"]; v && r.scalar(v, "max_compare_bytes", text) && !parse_size(text, s.max_compare_bytes))
      r.error(v, "max_compare_bytes must be a size such as 1MiB, got '" + text + "'");
  }
  if (auto c = n["compare"]; c && r.is_map(c, "compare")) {
    auto& cs = s.compare;
    r.check_keys(c, {"ignore", "headers", "ignore_headers", "tolerance", "unordered", "redact", "redact_headers", "version"},
                 "compare");
    if (auto v = c["version"]; v && r.scalar(v, "version", cs.version) && cs.version.empty())
      r.error(v, "compare.version must name a member, such as updated_at");
    read_paths(r, c["ignore"], "compare.ignore", cs.ignore);
    read_paths(r, c["redact"], "compare.redact", cs.redact);
    read_strings(r, c["headers"], "compare.headers", cs.headers);
    read_strings(r, c["ignore_headers"], "compare.ignore_headers", cs.ignore_headers);
    read_strings(r, c["redact_headers"], "compare.redact_headers", cs.redact_headers);
    if (auto t = c["tolerance"]; t && r.scalar(t, "tolerance", text)) {
      char* end = nullptr;
      cs.tolerance = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(cs.tolerance >= 0))
        r.error(t, "tolerance must be a number of at least 0, got '" + text + "'");
    }
    if (auto u = c["unordered"]; u && r.is_map(u, "compare.unordered")) {
      for (const auto& kv : u) {
        std::string path, key;
        if (!r.scalar(kv.first, "an array path", path) || !r.scalar(kv.second, "a key field", key)) continue;
        shadow::path_pattern p;
        std::string why;
        if (!shadow::path_pattern::parse(path, p, why)) r.error(kv.first, "compare.unordered: " + why);
        cs.unordered.emplace_back(path, key);
      }
    }
  }
}

}  // namespace

void read_route(yaml_reader& r, const YAML::Node& n, route& rt, const std::vector<std::string_view>& keys) {
  if (!r.is_map(n, "a route")) return;
  r.check_keys(n, keys, "route");
  r.string_field(n, "id", rt.id);
  if (rt.id.empty()) r.error(n, "route needs an id");
  if (auto m = n["match"]; m && r.is_map(m, "match")) {
    r.check_keys(m, {"methods", "path"}, "match");
    r.string_field(m, "path", rt.path);
    if (auto methods = m["methods"]) {
      if (!methods.IsSequence()) r.error(methods, "methods must be a list such as [GET, HEAD]");
      else
        for (const auto& method : methods) {
          std::string text;
          if (r.scalar(method, "a method", text)) {
            if (method_bit(text) == (1u << 15)) r.error(method, "unknown method '" + text + "'");
            rt.methods.push_back(text);
          }
        }
    }
  }
  if (rt.path.empty()) r.error(n, "route '" + rt.id + "' needs match.path");
  r.string_field(n, "service", rt.service);
  std::string mode = "monolith";
  if (auto m = n["mode"]; m && r.scalar(m, "mode", mode) && !parse_mode(mode, rt.mode)) {
    std::string message = "unknown mode '" + mode + "' (monolith, shadow, canary or service)";
    if (auto hint = closest_match(mode, {"monolith", "shadow", "canary", "service"}); !hint.empty())
      message += "; did you mean '" + hint + "'?";
    r.error(m, message);
  }
  std::string percent;
  if (auto p = n["percent"]; p && r.scalar(p, "percent", percent) && !parse_percent(percent, rt.percent_bp))
    r.error(p, "percent must be a number from 0 to 100 (at most two decimals), got '" + percent + "'");
  if (auto k = n["canary_key"]) {
    std::string text;
    if (k.IsScalar() && k.Scalar() == "client_address") {
      rt.key.from = canary_key::source::client_address;
    } else if (k.IsMap()) {
      r.check_keys(k, {"header", "cookie"}, "canary_key");
      if (auto h = k["header"]; h && r.scalar(h, "header", text)) rt.key = {canary_key::source::header, text};
      else if (auto c = k["cookie"]; c && r.scalar(c, "cookie", text)) rt.key = {canary_key::source::cookie, text};
      else r.error(k, "canary_key needs a header or a cookie name");
    } else {
      r.error(k, "canary_key is client_address, {header: NAME} or {cookie: NAME}");
    }
  }
  read_shadow(r, n, rt.shadow);
}

}  // namespace banyan::proxy
