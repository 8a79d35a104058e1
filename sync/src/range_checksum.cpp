#include "banyan/sync/range_checksum.hpp"

#include "banyan/platform/hash.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <vector>

namespace banyan::sync {

namespace json = boost::json;

namespace {

bool read_int(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void append_canonical(std::string& out, const json::value& v) {
  if (const auto* o = v.if_object()) {
    std::vector<const json::key_value_pair*> members;
    for (const auto& kv : *o) members.push_back(&kv);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out.push_back(',');
      out += json::serialize(json::string(members[i]->key()));
      out.push_back(':');
      append_canonical(out, members[i]->value());
    }
    out.push_back('}');
  } else if (const auto* a = v.if_array()) {
    out.push_back('[');
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out.push_back(',');
      append_canonical(out, (*a)[i]);
    }
    out.push_back(']');
  } else {
    out += json::serialize(v);
  }
}

std::string canonical_text(const json::object& row, const ignore_set& ignore) {
  json::object kept;
  for (const auto& kv : row)
    if (!ignore.contains(std::string_view(kv.key()))) kept.insert(kv);
  std::string out;
  append_canonical(out, kept);
  return out;
}

std::uint64_t row_checksum(const json::object& row, const ignore_set& ignore) {
  return fnv1a64(canonical_text(row, ignore));
}

std::string checksum_hex(std::uint64_t sum) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, sum >>= 4) out[static_cast<std::size_t>(i)] = digits[sum & 0xf];
  return out;
}

std::optional<std::uint64_t> parse_checksum_hex(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

expected<checksum_query, http::response> read_checksum_query(const http::request& req) {
  checksum_query q;
  auto bad = [](std::string message) { return unexpected(http::error_response(400, "invalid_query", std::move(message))); };
  std::int64_t n = 0;
  if (auto a = req.query_param("after")) {
    if (!read_int(*a, n)) return bad("after must be an integer key");
    q.after = n;
  }
  if (auto t = req.query_param("through")) {
    if (!read_int(*t, n)) return bad("through must be an integer key");
    q.through = n;
  }
  if (auto l = req.query_param("limit")) {
    if (!read_int(*l, n) || n < 1 || n > 100'000) return bad("limit must be an integer from 1 to 100000");
    q.limit = static_cast<int>(n);
  }
  if (auto r = req.query_param("rows")) {
    if (*r != "0" && *r != "1") return bad("rows must be 0 or 1");
    q.rows = *r == "1";
  }
  if (auto i = req.query_param("ignore")) {
    std::string_view rest = *i;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto name = rest.substr(0, comma);
      if (!name.empty()) q.ignore.emplace(name);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return q;
}

http::response serve_range_checksum(const http::request& req, std::string_view key_field, const range_reader& read) {
  auto q = read_checksum_query(req);
  if (!q) return std::move(q.error());
  std::uint64_t sum = 0;
  std::int64_t rows = 0;
  std::optional<std::int64_t> last;
  bool done = true;
  json::array items, fields;
  read(*q, q->limit + 1, [&](std::int64_t key, const json::object& row) {
    if (rows == q->limit) {
      done = false;
      return;
    }
    const auto c = row_checksum(row, q->ignore);
    sum += c;  // unsigned: mod 2^64, so a range's checksum does not depend on the order rows come in
    ++rows;
    last = key;
    if (fields.empty())
      for (const auto& kv : row) fields.emplace_back(kv.key());
    if (q->rows) items.push_back(json::object{{"key", std::to_string(key)}, {"checksum", checksum_hex(c)}});
  });
  json::object body{{"key_field", key_field}, {"rows", rows}, {"checksum", checksum_hex(sum)},
                    {"last", last ? json::value(std::to_string(*last)) : json::value(nullptr)},
                    {"done", done}, {"fields", std::move(fields)}};
  if (q->rows) body["items"] = std::move(items);
  return http::json_response(200, std::move(body));
}

}  // namespace banyan::sync
