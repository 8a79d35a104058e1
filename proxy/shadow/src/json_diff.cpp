#include "banyan/shadow/json_diff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace banyan::shadow {

std::string_view to_string(diff_kind k) noexcept {
  switch (k) {
    case diff_kind::value_changed: return "value_changed";
    case diff_kind::type_changed: return "type_changed";
    case diff_kind::missing: return "missing";
    case diff_kind::extra: return "extra";
    case diff_kind::array_length: return "array_length";
    case diff_kind::order_only: return "order_only";
    case diff_kind::not_json: return "not_json";
    case diff_kind::bytes_differ: return "bytes_differ";
    case diff_kind::stale: return "stale";
  }
  return "?";
}

namespace {

bool is_integral(std::string_view n) noexcept { return n.find_first_of(".eE") == std::string_view::npos; }

double to_double(std::string_view n) noexcept {
  char buf[64];
  if (n.size() < sizeof buf) {
    std::memcpy(buf, n.data(), n.size());
    buf[n.size()] = '\0';
    return std::strtod(buf, nullptr);
  }
  return std::strtod(std::string(n).c_str(), nullptr);
}

constexpr std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::uint64_t hash_text(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

struct member_ref {
  std::string_view key;
  std::uint32_t node;
};

// Members sorted by name, keeping only the last of a repeated name.
void sorted_members(const json_doc& d, std::uint32_t obj, std::vector<member_ref>& out) {
  out.clear();
  d.for_each_child(obj, [&](std::uint32_t c) { out.push_back({d.nodes()[c].key, c}); });
  std::stable_sort(out.begin(), out.end(), [](const member_ref& x, const member_ref& y) { return x.key < y.key; });
  std::size_t w = 0;
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (r + 1 < out.size() && out[r + 1].key == out[r].key) continue;  // a later one wins
    out[w++] = out[r];
  }
  out.resize(w);
}

const member_ref* find_member(const std::vector<member_ref>& sorted, std::string_view key) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), key,
                             [](const member_ref& m, std::string_view k) { return m.key < k; });
  return it != sorted.end() && it->key == key ? &*it : nullptr;
}

class renderer {
 public:
  renderer(const json_doc& d, const std::vector<path_pattern>& redact, json_path& path, std::size_t max)
      : d_(d), redact_(redact), path_(path), max_(max) {}
  void run(std::uint32_t i, std::string& out) {
    out_ = &out;
    node(i);
    if (out.size() > max_) {
      out.resize(max_);
      out += "…";
    }
  }

 private:
  void node(std::uint32_t i) {
    std::string& out = *out_;
    if (out.size() > max_) return;
    if (!redact_.empty() && any_matches(redact_, path_.segments())) {
      out += "\"[redacted]\"";
      return;
    }
    const auto& n = d_.nodes()[i];
    switch (n.kind) {
      case json_kind::string: append_json_string(out, n.text); break;
      case json_kind::object: {
        out.push_back('{');
        bool first = true;
        d_.for_each_child(i, [&](std::uint32_t c) {
          if (!first) out.push_back(',');
          first = false;
          append_json_string(out, d_.nodes()[c].key);
          out.push_back(':');
          path_.push_member(d_.nodes()[c].key);
          node(c);
          path_.pop();
        });
        out.push_back('}');
        break;
      }
      case json_kind::array: {
        out.push_back('[');
        std::uint32_t k = 0;
        d_.for_each_child(i, [&](std::uint32_t c) {
          if (k) out.push_back(',');
          path_.push_index(k++);
          node(c);
          path_.pop();
        });
        out.push_back(']');
        break;
      }
      default: out += n.text;
    }
  }
  const json_doc& d_;
  const std::vector<path_pattern>& redact_;
  json_path& path_;
  std::size_t max_;
  std::string* out_ = nullptr;
};

class differ {
 public:
  differ(const json_doc& a, const json_doc& b, const json_diff_options& o, std::vector<difference>& out)
      : a_(a), b_(b), o_(o), out_(out), start_(out.size()) {}

  void run() { compare(0, 0, 0); }

 private:
  bool full() const noexcept { return out_.size() - start_ >= o_.max_differences; }
  bool ignored() const noexcept { return !o_.ignore.empty() && any_matches(o_.ignore, path_.segments()); }

  std::string show(const json_doc& d, std::uint32_t i) {
    std::string s;
    renderer(d, o_.redact, path_, 200).run(i, s);
    return s;
  }

  // kmissing: node absent on that side (UINT32_MAX).
  static constexpr std::uint32_t none = UINT32_MAX;
  void add(diff_kind kind, std::uint32_t ia, std::uint32_t ib) {
    if (full()) return;
    difference d;
    d.where = path_.text();
    d.aggregate = path_.normalized();
    d.kind = kind;
    if (ia != none) d.monolith = show(a_, ia);
    if (ib != none) d.service = show(b_, ib);
    out_.push_back(std::move(d));
  }

  void compare(std::uint32_t ia, std::uint32_t ib, std::size_t depth) {
    if (full() || ignored()) return;
    const auto& na = a_.nodes()[ia];
    const auto& nb = b_.nodes()[ib];
    if (na.kind != nb.kind) {
      add(diff_kind::type_changed, ia, ib);
      return;
    }
    switch (na.kind) {
      case json_kind::null: return;
      case json_kind::boolean:
      case json_kind::string:
        if (na.text != nb.text) add(diff_kind::value_changed, ia, ib);
        return;
      case json_kind::number:
        if (!numbers_equal(na.text, nb.text, o_.tolerance)) add(diff_kind::value_changed, ia, ib);
        return;
      case json_kind::object: objects(ia, ib, depth); return;
      case json_kind::array: arrays(ia, ib, depth); return;
    }
  }

  // The member `name` of object node `i`, or none.
  static std::uint32_t member(const json_doc& d, std::uint32_t i, std::string_view name) {
    std::uint32_t c = i + 1;
    for (std::uint32_t k = 0; k < d.nodes()[i].count; ++k, c = d.nodes()[c].end)
      if (d.nodes()[c].key == name) return c;
    return none;
  }

  void objects(std::uint32_t ia, std::uint32_t ib, std::size_t depth) {
    const auto& na = a_.nodes()[ia];
    const auto& nb = b_.nodes()[ib];
    if (!o_.version_member.empty()) {
      const auto va = member(a_, ia, o_.version_member), vb = member(b_, ib, o_.version_member);
      if (va != none && vb != none && a_.nodes()[va].text != b_.nodes()[vb].text) {
        path_.push_member(o_.version_member);
        add(diff_kind::stale, va, vb);
        path_.pop();
        return;
      }
    }
    // Usual case: the same names in the same order, none repeated (checked cheaply for small
    // objects). Compared pairwise without building an index.
    if (na.count == nb.count && na.count <= 16) {
      bool same = true;
      std::uint32_t ca = ia + 1, cb = ib + 1;
      std::array<std::string_view, 16> keys;
      for (std::uint32_t k = 0; k < na.count && same; ++k) {
        keys[k] = a_.nodes()[ca].key;
        same = keys[k] == b_.nodes()[cb].key;
        for (std::uint32_t j = 0; j < k && same; ++j) same = keys[j] != keys[k];
        ca = a_.nodes()[ca].end;
        cb = b_.nodes()[cb].end;
      }
      if (same) {
        ca = ia + 1;
        cb = ib + 1;
        for (std::uint32_t k = 0; k < na.count; ++k) {
          path_.push_member(a_.nodes()[ca].key);
          compare(ca, cb, depth + 1);
          path_.pop();
          ca = a_.nodes()[ca].end;
          cb = b_.nodes()[cb].end;
        }
        return;
      }
    }
    std::vector<member_ref> left, right;
    sorted_members(a_, ia, left);
    sorted_members(b_, ib, right);
    for (const auto& m : left) {
      path_.push_member(m.key);
      if (const auto* other = find_member(right, m.key)) {
        compare(m.node, other->node, depth + 1);
      } else if (!ignored()) {
        add(diff_kind::missing, m.node, none);
      }
      path_.pop();
    }
    for (const auto& m : right) {
      if (find_member(left, m.key)) continue;
      path_.push_member(m.key);
      if (!ignored()) add(diff_kind::extra, none, m.node);
      path_.pop();
    }
  }

  const unordered_rule* unordered_rule_here() const noexcept {
    for (const auto& r : o_.unordered)
      if (r.array.matches(path_.segments())) return &r;
    return nullptr;
  }

  // The key an element of an unordered array is matched by: its key field's text.
  static bool key_of(const json_doc& d, std::uint32_t el, const std::string& key, std::string_view& out) {
    if (d.nodes()[el].kind != json_kind::object) return false;
    bool found = false;
    d.for_each_child(el, [&](std::uint32_t c) {
      const auto& n = d.nodes()[c];
      if (n.key == key && (n.kind == json_kind::string || n.kind == json_kind::number)) {
        out = n.text;
        found = true;
      }
    });
    return found;
  }

  void arrays(std::uint32_t ia, std::uint32_t ib, std::size_t depth) {
    const auto& na = a_.nodes()[ia];
    const auto& nb = b_.nodes()[ib];
    if (const auto* rule = unordered_rule_here()) {
      keyed(ia, ib, *rule, depth);
      return;
    }
    std::vector<std::uint32_t> ea, eb;
    a_.for_each_child(ia, [&](std::uint32_t c) { ea.push_back(c); });
    b_.for_each_child(ib, [&](std::uint32_t c) { eb.push_back(c); });
    if (na.count != nb.count) {
      if (!full()) {
        difference d;
        d.where = path_.text();
        d.aggregate = path_.normalized();
        d.kind = diff_kind::array_length;
        d.monolith = std::to_string(na.count) + " elements";
        d.service = std::to_string(nb.count) + " elements";
        out_.push_back(std::move(d));
      }
    }
    const std::size_t before = out_.size();
    const std::size_t common = std::min(ea.size(), eb.size());
    std::vector<std::uint32_t> differing;  // positions whose elements differ
    for (std::size_t k = 0; k < common && !full(); ++k) {
      const std::size_t was = out_.size();
      path_.push_index(static_cast<std::uint32_t>(k));
      compare(ea[k], eb[k], depth + 1);
      path_.pop();
      if (out_.size() > was) differing.push_back(static_cast<std::uint32_t>(k));
    }
    // Equal elements in another order: one finding instead of one per moved element. Positions
    // that match hold equal elements, so it is a reorder exactly when the differing positions hold
    // the same elements on both sides; only those are hashed. One differing position never is.
    if (full() && na.count == nb.count) {
      // The listing stopped early: find the differing positions by hash instead.
      differing.clear();
      for (std::size_t k = 0; k < common; ++k) {
        path_.push_index(static_cast<std::uint32_t>(k));
        if (hash(a_, ea[k]) != hash(b_, eb[k])) differing.push_back(static_cast<std::uint32_t>(k));
        path_.pop();
      }
    }
    if (differing.size() >= 2 && na.count == nb.count) {
      std::vector<std::uint64_t> ha, hb;
      for (const auto k : differing) {
        path_.push_index(k);
        ha.push_back(hash(a_, ea[k]));
        hb.push_back(hash(b_, eb[k]));
        path_.pop();
      }
      std::sort(ha.begin(), ha.end());
      std::sort(hb.begin(), hb.end());
      if (ha == hb) {
        out_.resize(before);
        difference d;
        d.where = path_.text();
        d.aggregate = path_.normalized();
        d.kind = diff_kind::order_only;
        d.monolith = show(a_, ia);
        d.service = show(b_, ib);
        out_.push_back(std::move(d));
      }
    }
  }

  void keyed(std::uint32_t ia, std::uint32_t ib, const unordered_rule& rule, std::size_t depth) {
    std::unordered_map<std::string_view, std::uint32_t> right;
    std::vector<std::pair<std::string_view, std::uint32_t>> left, right_order;
    std::uint32_t k = 0;
    auto keyed_or_index = [&](const json_doc& d, std::uint32_t c, std::vector<std::string>& spill) {
      std::string_view key;
      if (key_of(d, c, rule.key, key)) return key;
      spill.push_back("#" + std::to_string(k));  // no key: matched by position among its kind
      return std::string_view(spill.back());
    };
    std::vector<std::string> spill_a, spill_b;
    spill_a.reserve(a_.nodes()[ia].count);
    spill_b.reserve(b_.nodes()[ib].count);
    k = 0;
    a_.for_each_child(ia, [&](std::uint32_t c) {
      left.emplace_back(keyed_or_index(a_, c, spill_a), c);
      ++k;
    });
    k = 0;
    b_.for_each_child(ib, [&](std::uint32_t c) {
      const auto key = keyed_or_index(b_, c, spill_b);
      right[key] = c;
      right_order.emplace_back(key, c);
      ++k;
    });
    std::unordered_map<std::string_view, std::uint32_t> left_index;
    for (const auto& [key, c] : left) left_index[key] = c;
    for (const auto& [key, c] : left) {
      path_.push_keyed(rule.key, key);
      if (auto it = right.find(key); it != right.end()) compare(c, it->second, depth + 1);
      else if (!ignored()) add(diff_kind::missing, c, none);
      path_.pop();
    }
    for (const auto& [key, c] : right_order) {
      if (left_index.count(key)) continue;
      path_.push_keyed(rule.key, key);
      if (!ignored()) add(diff_kind::extra, none, c);
      path_.pop();
    }
  }

  // A structural hash that skips ignored paths: equal for values the diff would call equal
  // (with no tolerance).
  std::uint64_t hash(const json_doc& d, std::uint32_t i) {
    if (ignored()) return 0;
    const auto& n = d.nodes()[i];
    const std::uint64_t kind = static_cast<std::uint64_t>(n.kind) + 1;
    switch (n.kind) {
      case json_kind::null: return mix(kind);
      case json_kind::boolean:
      case json_kind::string: return mix(kind ^ hash_text(n.text));
      case json_kind::number: {
        if (is_integral(n.text) && n.text.size() > 15) return mix(kind ^ hash_text(n.text));
        double v = to_double(n.text);
        if (v == 0) v = 0;  // -0
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        return mix(kind ^ bits);
      }
      case json_kind::object: {
        std::uint64_t h = kind;
        std::vector<member_ref> members;
        sorted_members(d, i, members);
        for (const auto& m : members) {  // order-independent
          path_.push_member(m.key);
          h += mix(hash_text(m.key) ^ (hash(d, m.node) * 31));
          path_.pop();
        }
        return mix(h);
      }
      case json_kind::array: {
        std::uint64_t h = kind;
        std::uint32_t k = 0;
        d.for_each_child(i, [&](std::uint32_t c) {
          path_.push_index(k++);
          h = mix(h * 31 + hash(d, c));
          path_.pop();
        });
        return h;
      }
    }
    return 0;
  }

  const json_doc& a_;
  const json_doc& b_;
  const json_diff_options& o_;
  std::vector<difference>& out_;
  std::size_t start_;
  json_path path_;
};

}  // namespace

bool numbers_equal(std::string_view a, std::string_view b, double tolerance) noexcept {
  if (a == b) return true;
  // JSON integers have no leading zeros: for those too long for a double, different text is a
  // different value (only -0 and 0 are the same).
  if (is_integral(a) && is_integral(b) && (a.size() > 15 || b.size() > 15) && tolerance == 0) return false;
  const double x = to_double(a), y = to_double(b);
  if (tolerance == 0) return x == y;
  return std::fabs(x - y) <= tolerance;
}

void diff_json(const json_doc& monolith, const json_doc& service, const json_diff_options& options,
               std::vector<difference>& out) {
  if (monolith.empty() || service.empty()) return;
  differ(monolith, service, options, out).run();
}

std::string redacted_json(const json_doc& doc, const std::vector<path_pattern>& redact, std::size_t max_bytes) {
  std::string out;
  if (doc.empty()) return out;
  json_path path;
  renderer(doc, redact, path, max_bytes).run(0, out);
  return out;
}

}  // namespace banyan::shadow
