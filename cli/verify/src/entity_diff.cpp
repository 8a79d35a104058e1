#include "banyan/verify/entity_diff.hpp"

#include "banyan/platform/hash.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace banyan::verify {

namespace json = boost::json;

namespace {

bool is_number(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<std::string> row_key(const json::object& row, std::string_view key_field) {
  const auto* v = row.if_contains(key_field);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return std::nullopt;
}

std::vector<field_difference> differing_fields(const json::object& from, const json::object& to, const ignore_set& ignore) {
  std::set<std::string> names;
  for (const auto& kv : from) names.insert(std::string(kv.key()));
  for (const auto& kv : to) names.insert(std::string(kv.key()));
  std::vector<field_difference> out;
  for (const auto& name : names) {
    if (ignore.contains(name)) continue;
    const auto* a = from.if_contains(name);
    const auto* b = to.if_contains(name);
    std::string ta = "absent", tb = "absent";
    if (a) {
      ta.clear();
      sync::append_canonical(ta, *a);
    }
    if (b) {
      tb.clear();
      sync::append_canonical(tb, *b);
    }
    if (ta != tb) out.push_back({name, ta, tb});
  }
  return out;
}

bool side_digest::add(std::string key, std::uint64_t checksum) { return rows_.emplace(std::move(key), checksum).second; }

key_diff compare(const side_digest& from, const side_digest& to) {
  key_diff d;
  auto a = from.rows().begin(), b = to.rows().begin();
  const auto a_end = from.rows().end(), b_end = to.rows().end();
  while (a != a_end || b != b_end) {
    if (b == b_end || (a != a_end && a->first < b->first)) {
      d.missing_on_to.push_back(a->first);
      ++a;
    } else if (a == a_end || b->first < a->first) {
      d.missing_on_from.push_back(b->first);
      ++b;
    } else {
      if (a->second == b->second) ++d.equal;
      else d.differ.push_back(a->first);
      ++a;
      ++b;
    }
  }
  for (auto* list : {&d.missing_on_to, &d.missing_on_from, &d.differ}) std::sort(list->begin(), list->end(), key_less);
  return d;
}

bool key_less(const std::string& a, const std::string& b) {
  const bool na = is_number(a), nb = is_number(b);
  if (na && nb) {
    long long x = 0, y = 0;
    std::from_chars(a.data(), a.data() + a.size(), x);
    std::from_chars(b.data(), b.data() + b.size(), y);
    return x < y;
  }
  if (na != nb) return na;
  return a < b;
}

}  // namespace banyan::verify
