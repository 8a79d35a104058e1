#include "commands/data_verify_ranges.hpp"

#include "banyan/platform/http_client.hpp"

#include <boost/json/parse.hpp>

#include <charconv>
#include <cstdint>
#include <chrono>
#include <optional>

namespace banyan::cli {

namespace json = boost::json;

namespace {

// Rows a range holds. Why 10,000: a range costs each side one request; 10,000 rows are about 20 ms
// of a side's work (read, JSON, hash) on this machine, so the requests' own cost stays small, while
// a range that differs lists at most that many keys.
constexpr int range_rows = 10'000;

}  // namespace

range_side::range_side(std::string url, const std::string& entity, const verify::ignore_set& ignore)
    : url_(std::move(url)), client_(url_), base_("/internal/checksum/" + entity + "?") {
  for (const auto& f : ignore) ignore_ += (ignore_.empty() ? "" : ",") + f;
}

range_side::~range_side() = default;

std::optional<range_answer> range_side::ask(std::optional<std::int64_t> after, std::optional<std::int64_t> through,
                                            int limit, bool rows) {
  std::string target = base_ + "limit=" + std::to_string(limit);
  if (after) target += "&after=" + std::to_string(*after);
  if (through) target += "&through=" + std::to_string(*through);
  if (rows) target += "&rows=1";
  if (!ignore_.empty()) target += "&ignore=" + ignore_;
  http::header_list h;
  h.add("Accept", "application/json");
  auto r = client_.get(target, h);
  if (!r) {
    failure_code = exit_unreachable;
    failure = r.error().message;
    return std::nullopt;
  }
  if (r->status == 404 || r->status == 405) {
    not_served = true;
    return std::nullopt;
  }
  boost::system::error_code ec;
  const auto doc = json::parse(r->body, ec);
  const auto* o = !ec && r->status == 200 ? doc.if_object() : nullptr;
  range_answer a;
  const json::value* v = nullptr;
  auto field = [&](const char* name) { return o ? (v = o->if_contains(name)) : nullptr; };
  bool ok = o && field("rows") && v->is_int64() && (a.rows = v->as_int64(), true) && field("checksum") &&
            v->is_string() && field("done") && v->is_bool() && (a.done = v->as_bool(), true);
  if (ok) {
    const auto sum = sync::parse_checksum_hex(o->at("checksum").as_string());
    ok = sum.has_value();
    if (sum) a.checksum = *sum;
    key_field = o->contains("key_field") && o->at("key_field").is_string() ? std::string(o->at("key_field").as_string()) : "";
    if (const auto* l = o->if_contains("last"); l && l->is_string()) {
      std::int64_t k = 0;
      const std::string_view t = l->as_string();
      auto [end, ec2] = std::from_chars(t.data(), t.data() + t.size(), k);
      ok = ok && ec2 == std::errc() && end == t.data() + t.size();
      a.last = k;
    }
    if (const auto* f = o->if_contains("fields"); f && f->is_array()) a.fields = f->as_array();
    if (const auto* i = o->if_contains("items"); i && i->is_array()) a.items = i->as_array();
    ok = ok && (a.rows == 0 || a.last.has_value()) && (!rows || a.items.size() == static_cast<std::size_t>(a.rows));
  }
  if (!ok) {
    failure_code = r->status >= 500 ? int{exit_unreachable} : int{exit_bad_input};
    failure = url_ + base_ + "… answered " + std::to_string(r->status) + ", not a range checksum";
    return std::nullopt;
  }
  return a;
}

std::optional<std::optional<std::uint64_t>> range_side::row(const std::string& key) {
  std::int64_t k = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), k);
  if (ec != std::errc() || end != key.data() + key.size() || k == INT64_MIN) {
    failure_code = exit_bad_input;
    failure = url_ + ": key '" + key + "' is not an integer";
    return std::nullopt;
  }
  auto a = ask(k - 1, k, 1, false);
  if (!a) return std::nullopt;
  if (a->rows == 0) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(a->checksum);
}

void compare_by_ranges(const data_verify_options& o, const verify::ignore_set& ignore, range_comparison& out,
                       std::ostream& err) {
  range_side from(o.from, o.entity, ignore), to(o.to, o.entity, ignore);
  auto failed = [&](const range_side& s) {
    if (s.failure_code == 0) return false;
    out.failure_code = s.failure_code;
    out.failure = s.failure;
    return true;
  };

  // Both must serve it, keyed by the field the rows are compared by.
  for (auto* s : {&from, &to}) {
    (void)s->ask(std::nullopt, std::nullopt, 1, false);
    if (failed(*s) || s->not_served || s->key_field != o.key) return;
  }
  out.served = true;

  // A range that differs: each side's rows in it, key and checksum, for the row-by-row comparison.
  auto list_rows = [&](range_side& s, verify::side_digest& digest, std::atomic<std::size_t>& rows, std::optional<std::int64_t> after,
                       std::optional<std::int64_t> through) {
    for (;;) {
      auto a = s.ask(after, through, range_rows, true);
      if (!a) return !failed(s);
      for (const auto& item : a->items) {
        const auto* i = item.if_object();
        const auto* k = i ? i->if_contains("key") : nullptr;
        const auto* c = i ? i->if_contains("checksum") : nullptr;
        const auto sum = c && c->is_string() ? sync::parse_checksum_hex(c->as_string()) : std::nullopt;
        if (!k || !k->is_string() || !sum) {
          out.failure_code = exit_bad_input;
          out.failure = s.url() + ": a range's row without a key or checksum";
          return false;
        }
        digest.add(std::string(k->as_string()), *sum);
        ++rows;
      }
      for (const auto& f : a->fields) out.fields.insert(std::string(f.as_string()));
      if (a->done) return true;
      after = a->last;
    }
  };

  std::optional<std::int64_t> after;
  auto last_progress = std::chrono::steady_clock::now();
  for (;;) {
    auto f = from.ask(after, std::nullopt, range_rows, false);
    if (!f) {
      failed(from);
      return;
    }
    // The other side over the same keys: up to the from side's last row, or to its end when that was
    // the from side's last range. Twice the rows at most: more is a difference either way.
    const std::int64_t through = f->done || !f->last ? INT64_MAX : *f->last;
    auto t = to.ask(after, through, 2 * range_rows, false);
    if (!t) {
      failed(to);
      return;
    }
    for (const auto& x : f->fields) out.fields.insert(std::string(x.as_string()));
    ++out.ranges;
    if (t->done && t->rows == f->rows && t->checksum == f->checksum) {
      out.from_rows += static_cast<std::size_t>(f->rows);
      out.to_rows += static_cast<std::size_t>(t->rows);
      out.equal_in_ranges += static_cast<std::size_t>(f->rows);
    } else {
      ++out.ranges_differing;
      if (!list_rows(from, out.from, out.from_rows, after, through) || !list_rows(to, out.to, out.to_rows, after, through))
        return;
    }
    if (f->done) return;
    after = f->last;
    if (const auto now = std::chrono::steady_clock::now(); now - last_progress >= std::chrono::seconds(2)) {
      last_progress = now;
      err << "verify: " << o.entity << ": " << out.from_rows << " rows compared from " << o.from << " by ranges, "
          << out.ranges_differing << " of " << out.ranges << " ranges differ\n";
    }
  }
}

}  // namespace banyan::cli
