#include "banyan/shadow/json_doc.hpp"

#include <cstdio>

namespace banyan::shadow {

std::string_view to_string(json_kind k) noexcept {
  switch (k) {
    case json_kind::null: return "null";
    case json_kind::boolean: return "boolean";
    case json_kind::number: return "number";
    case json_kind::string: return "string";
    case json_kind::array: return "array";
    case json_kind::object: return "object";
  }
  return "?";
}

namespace {

struct parser {
  std::string_view s;
  std::size_t pos = 0;
  std::size_t max_depth;
  std::vector<json_node>& nodes;
  std::deque<std::string>& decoded;
  json_parse_error& err;

  bool fail(std::string message) {
    err.offset = pos;
    err.message = std::move(message);
    return false;
  }
  void skip_ws() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
  }
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool read_hex4(unsigned& out) {
    if (pos + 4 > s.size()) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex(s[pos + static_cast<std::size_t>(i)]);
      if (h < 0) return fail("bad \\u escape");
      out = out * 16 + static_cast<unsigned>(h);
    }
    pos += 4;
    return true;
  }
  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  // At the opening quote. Escapes are decoded, so "\u00e9" and "é" compare equal.
  bool string(std::string_view& out) {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] != '"' && s[pos] != '\\') {
      if (static_cast<unsigned char>(s[pos]) < 0x20) return fail("control character in a string");
      ++pos;
    }
    if (pos >= s.size()) return fail("unterminated string");
    if (s[pos] == '"') {
      out = s.substr(start, pos - start);
      ++pos;
      return true;
    }
    std::string& d = decoded.emplace_back(s.substr(start, pos - start));
    while (pos < s.size() && s[pos] != '"') {
      const char c = s[pos];
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        d.push_back(c);
        ++pos;
        continue;
      }
      if (++pos >= s.size()) break;
      const char e = s[pos++];
      switch (e) {
        case '"': d.push_back('"'); break;
        case '\\': d.push_back('\\'); break;
        case '/': d.push_back('/'); break;
        case 'b': d.push_back('\b'); break;
        case 'f': d.push_back('\f'); break;
        case 'n': d.push_back('\n'); break;
        case 'r': d.push_back('\r'); break;
        case 't': d.push_back('\t'); break;
        case 'u': {
          unsigned cp = 0;
          if (!read_hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {  // a high surrogate needs its low half
            unsigned lo = 0;
            if (pos + 2 > s.size() || s[pos] != '\\' || s[pos + 1] != 'u') return fail("lone surrogate in \\u escape");
            pos += 2;
            if (!read_hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("lone surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("lone surrogate in \\u escape");
          }
          put_utf8(d, cp);
          break;
        }
        default: --pos; return fail("bad escape in a string");
      }
    }
    if (pos >= s.size()) return fail("unterminated string");
    ++pos;
    out = d;
    return true;
  }
  bool number() {
    const std::size_t start = pos;
    if (s[pos] == '-') ++pos;
    if (pos >= s.size()) return fail("bad number");
    if (s[pos] == '0') {
      ++pos;
    } else if (s[pos] >= '1' && s[pos] <= '9') {
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    } else {
      return fail("bad number");
    }
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return fail("bad number: digits expected after '.'");
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    }
    if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
      ++pos;
      if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
      if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return fail("bad number: digits expected in the exponent");
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    }
    nodes.back().text = s.substr(start, pos - start);
    return true;
  }
  bool literal(std::string_view word, json_kind kind) {
    if (s.substr(pos, word.size()) != word) return fail("unexpected character");
    nodes.back().kind = kind;
    nodes.back().text = s.substr(pos, word.size());
    pos += word.size();
    return true;
  }
  bool value(std::size_t depth, std::string_view key) {
    skip_ws();
    if (pos >= s.size()) return fail("unexpected end of input");
    if (depth > max_depth) return fail("nesting deeper than " + std::to_string(max_depth) + " levels");
    const auto self = static_cast<std::uint32_t>(nodes.size());
    nodes.push_back({});
    nodes.back().key = key;
    const char c = s[pos];
    bool ok = true;
    if (c == '{') {
      nodes[self].kind = json_kind::object;
      ++pos;
      skip_ws();
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
      } else {
        for (;;) {
          skip_ws();
          if (pos >= s.size() || s[pos] != '"') return fail("member name expected");
          std::string_view name;
          if (!string(name)) return false;
          skip_ws();
          if (pos >= s.size() || s[pos] != ':') return fail("':' expected");
          ++pos;
          if (!value(depth + 1, name)) return false;
          ++nodes[self].count;
          skip_ws();
          if (pos < s.size() && s[pos] == ',') {
            ++pos;
            continue;
          }
          if (pos < s.size() && s[pos] == '}') {
            ++pos;
            break;
          }
          return fail("',' or '}' expected");
        }
      }
    } else if (c == '[') {
      nodes[self].kind = json_kind::array;
      ++pos;
      skip_ws();
      if (pos < s.size() && s[pos] == ']') {
        ++pos;
      } else {
        for (;;) {
          if (!value(depth + 1, {})) return false;
          ++nodes[self].count;
          skip_ws();
          if (pos < s.size() && s[pos] == ',') {
            ++pos;
            continue;
          }
          if (pos < s.size() && s[pos] == ']') {
            ++pos;
            break;
          }
          return fail("',' or ']' expected");
        }
      }
    } else if (c == '"') {
      nodes[self].kind = json_kind::string;
      std::string_view text;
      ok = string(text);
      nodes[self].text = text;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      nodes[self].kind = json_kind::number;
      ok = number();
    } else if (c == 't') {
      ok = literal("true", json_kind::boolean);
    } else if (c == 'f') {
      ok = literal("false", json_kind::boolean);
    } else if (c == 'n') {
      ok = literal("null", json_kind::null);
    } else {
      return fail("unexpected character");
    }
    nodes[self].end = static_cast<std::uint32_t>(nodes.size());
    return ok;
  }
};

}  // namespace

bool json_doc::parse(std::string_view text, json_parse_error& err, std::size_t max_depth) {
  nodes_.clear();
  decoded_.clear();
  nodes_.reserve(text.size() / 8 + 4);
  parser p{text, 0, max_depth, nodes_, decoded_, err};
  if (!p.value(0, {})) {
    nodes_.clear();
    return false;
  }
  p.skip_ws();
  if (p.pos != text.size()) {
    nodes_.clear();
    return p.fail("unexpected data after the JSON value");
  }
  return true;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

namespace {
void render_into(const json_doc& d, std::uint32_t i, std::string& out, std::size_t max_bytes) {
  if (out.size() > max_bytes) return;
  const auto& n = d.nodes()[i];
  switch (n.kind) {
    case json_kind::string: append_json_string(out, n.text); break;
    case json_kind::array:
    case json_kind::object: {
      const bool obj = n.kind == json_kind::object;
      out.push_back(obj ? '{' : '[');
      bool first = true;
      d.for_each_child(i, [&](std::uint32_t c) {
        if (out.size() > max_bytes) return;
        if (!first) out.push_back(',');
        first = false;
        if (obj) {
          append_json_string(out, d.nodes()[c].key);
          out.push_back(':');
        }
        render_into(d, c, out, max_bytes);
      });
      out.push_back(obj ? '}' : ']');
      break;
    }
    default: out += n.text;
  }
}
}  // namespace

std::string json_doc::render(std::uint32_t i, std::size_t max_bytes) const {
  std::string out;
  render_into(*this, i, out, max_bytes);
  if (out.size() > max_bytes) {
    out.resize(max_bytes);
    out += "…";
  }
  return out;
}

}  // namespace banyan::shadow
