#include "banyan/shadow/compare.hpp"

#include "banyan/platform/ascii.hpp"

#include "banyan/platform/hash.hpp"
#include "banyan/proxy/http1.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace banyan::shadow {

namespace {
std::string lower(std::string_view s) { return ascii_lowered(s); }

std::string describe_bytes(std::string_view body, std::size_t first_difference) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%zu bytes, fnv1a %016llx, first difference at byte %zu", body.size(),
                static_cast<unsigned long long>(fnv1a64(body)), first_difference);
  return buf;
}

bool is_json_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  const std::string type = lower(content_type.substr(0, semi));
  return type == "application/json" || (type.size() > 5 && type.ends_with("+json"));
}

void add(std::vector<difference>& out, std::string where, diff_kind kind, std::string monolith, std::string service) {
  difference d;
  d.aggregate = where;
  d.where = std::move(where);
  d.kind = kind;
  d.monolith = std::move(monolith);
  d.service = std::move(service);
  out.push_back(std::move(d));
}
}  // namespace

std::string_view captured_response::header(std::string_view lower_name) const noexcept {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

bool dechunk(std::string_view raw, std::string& out) {
  out.clear();
  proxy::http1::chunked_decoder decoder;  // the relay's own: both read one framing the same way
  const auto r = decoder.feed(raw, &out);
  return !r.err && r.done;
}

bool parse_captured(std::string_view raw, std::string_view request_method, captured_response& out, std::string& why) {
  proxy::http1::response_head head;
  proxy::http1::error err;
  proxy::http1::limits lim;
  lim.max_head_bytes = 64 * 1024;
  if (proxy::http1::parse_response(raw, request_method, head, err, lim) != proxy::http1::parse_state::complete) {
    why = err ? err.message : "incomplete response";
    return false;
  }
  out.status = head.status;
  out.headers.clear();
  for (std::size_t i = 0; i < head.header_count; ++i)
    out.headers.emplace_back(lower(head.headers[i].name), std::string(head.headers[i].value));
  const auto body = raw.substr(head.head_bytes);
  switch (head.body) {
    case proxy::http1::body_kind::none: out.body.clear(); break;
    case proxy::http1::body_kind::length:
      if (body.size() < head.content_length) {
        why = "response body shorter than its Content-Length";
        return false;
      }
      out.body.assign(body.substr(0, static_cast<std::size_t>(head.content_length)));
      break;
    case proxy::http1::body_kind::chunked:
      if (!dechunk(body, out.body)) {
        why = "malformed chunked response body";
        return false;
      }
      break;
    case proxy::http1::body_kind::until_close: out.body.assign(body); break;
  }
  return true;
}

bool compare_rules::compile(const proxy::compare_settings& s, compare_rules& out, std::vector<std::string>& problems) {
  const std::size_t before = problems.size();
  out = {};
  auto patterns = [&](const std::vector<std::string>& texts, std::vector<path_pattern>& dst, std::string_view what) {
    for (const auto& t : texts) {
      path_pattern p;
      std::string why;
      if (path_pattern::parse(t, p, why)) dst.push_back(std::move(p));
      else problems.push_back(std::string(what) + " '" + t + "': " + why);
    }
  };
  patterns(s.ignore, out.json.ignore, "compare.ignore");
  patterns(s.redact, out.json.redact, "compare.redact");
  for (const auto& [path, key] : s.unordered) {
    unordered_rule r;
    std::string why;
    if (!path_pattern::parse(path, r.array, why)) problems.push_back("compare.unordered '" + path + "': " + why);
    else if (key.empty()) problems.push_back("compare.unordered '" + path + "' needs a key field");
    r.key = key;
    out.json.unordered.push_back(std::move(r));
  }
  out.json.tolerance = s.tolerance;
  out.json.version_member = s.version;
  std::vector<std::string> ignored;
  for (const auto& h : s.ignore_headers) ignored.push_back(lower(h));
  auto compared = [&](const std::string& name) {
    if (std::find(ignored.begin(), ignored.end(), name) == ignored.end() &&
        std::find(out.headers.begin(), out.headers.end(), name) == out.headers.end())
      out.headers.push_back(name);
  };
  compared("content-type");
  for (const auto& h : s.headers) compared(lower(h));
  for (const auto& h : s.redact_headers) out.redact_headers.push_back(lower(h));
  return problems.size() == before;
}

bool is_sensitive_header(std::string_view name, const compare_rules& rules) noexcept {
  if (name == "authorization" || name == "cookie" || name == "set-cookie" || name == "proxy-authorization")
    return true;
  return std::find(rules.redact_headers.begin(), rules.redact_headers.end(), name) != rules.redact_headers.end();
}

comparison compare_responses(const captured_response& m, const captured_response& s, const compare_rules& rules) {
  comparison c;
  if (m.status == 0 || s.status == 0) {
    c.result = comparison::outcome::no_answer;
    return c;
  }
  if (m.too_large || s.too_large) {
    c.result = comparison::outcome::too_large;
    return c;
  }
  auto& out = c.differences;
  if (m.status != s.status) add(out, "status", diff_kind::value_changed, std::to_string(m.status), std::to_string(s.status));
  for (const auto& name : rules.headers) {
    const auto a = m.header(name), b = s.header(name);
    if (a == b) continue;
    const bool sensitive = is_sensitive_header(name, rules);
    const diff_kind kind = a.empty() ? diff_kind::extra : b.empty() ? diff_kind::missing : diff_kind::value_changed;
    add(out, "header " + name, kind, sensitive && !a.empty() ? "[redacted]" : std::string(a),
        sensitive && !b.empty() ? "[redacted]" : std::string(b));
  }
  if (m.body.empty() && s.body.empty()) return c;
  if (is_json_type(m.header("content-type")) || is_json_type(s.header("content-type"))) {
    json_doc a, b;
    json_parse_error ea, eb;
    const bool ok_a = a.parse(m.body, ea), ok_b = b.parse(s.body, eb);
    if (ok_a && ok_b) {
      diff_json(a, b, rules.json, out);
      return c;
    }
    if (ok_a != ok_b) {
      auto why = [](const json_parse_error& e) { return "invalid JSON at byte " + std::to_string(e.offset) + ": " + e.message; };
      add(out, "$", diff_kind::not_json, ok_a ? "valid JSON" : why(ea), ok_b ? "valid JSON" : why(eb));
      return c;
    }
    // Neither side is JSON after all: compare the bytes.
  }
  if (m.body != s.body) {
    const auto mismatch = std::mismatch(m.body.begin(), m.body.end(), s.body.begin(), s.body.end());
    const auto offset = static_cast<std::size_t>(mismatch.first - m.body.begin());
    add(out, "body", diff_kind::bytes_differ, describe_bytes(m.body, offset), describe_bytes(s.body, offset));
  }
  return c;
}

}  // namespace banyan::shadow
