#include "banyan/platform/etcd_messages.hpp"

#include "banyan/platform/base64.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace banyan::etcd {

namespace json = boost::json;

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = end.back();
    if (static_cast<unsigned char>(c) < 0xff) {
      c = static_cast<char>(static_cast<unsigned char>(c) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "\0" range end
}

namespace {

json::string b64(std::string_view s) { return json::string(base64_encode(s)); }
json::string num(std::int64_t n) { return json::string(std::to_string(n)); }

// A 64-bit number as the gateway writes it (a string), or a JSON number; 0 when absent.
bool int_of(const json::object& o, std::string_view key, std::int64_t& out, std::string& why) {
  out = 0;
  const auto* v = o.if_contains(key);
  if (!v) return true;
  if (v->is_int64()) {
    out = v->as_int64();
    return true;
  }
  if (v->is_uint64()) {
    out = static_cast<std::int64_t>(v->as_uint64());
    return true;
  }
  if (v->is_string()) {
    const auto& s = v->as_string();
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size()) return true;
  }
  why = std::string(key) + " is not a number";
  return false;
}

bool bytes_of(const json::object& o, std::string_view key, std::string& out, std::string& why) {
  out.clear();
  const auto* v = o.if_contains(key);
  if (!v) return true;
  if (v->is_string())
    if (auto d = base64_decode(v->as_string())) {
      out = std::move(*d);
      return true;
    }
  why = std::string(key) + " is not base64";
  return false;
}

bool bool_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

expected<json::object, std::string> object_of(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return unexpected(std::string("not a JSON object: ") + std::string(text.substr(0, 200)));
  return std::move(v.as_object());
}

bool header_of(const json::object& o, response_header& out, std::string& why) {
  const auto* h = o.if_contains("header");
  if (!h || !h->is_object()) return true;  // answers inside a txn carry a partial header
  const auto& ho = h->as_object();
  if (const auto* c = ho.if_contains("cluster_id"); c && c->is_string()) out.cluster_id = std::string(c->as_string());
  return int_of(ho, "revision", out.revision, why);
}

bool kv_of(const json::value& v, key_value& out, std::string& why) {
  if (!v.is_object()) {
    why = "a key-value is not an object";
    return false;
  }
  const auto& o = v.as_object();
  return bytes_of(o, "key", out.key, why) && bytes_of(o, "value", out.value, why) &&
         int_of(o, "create_revision", out.create_revision, why) && int_of(o, "mod_revision", out.mod_revision, why) &&
         int_of(o, "version", out.version, why) && int_of(o, "lease", out.lease, why);
}

bool range_of(const json::object& o, range_response& out, std::string& why) {
  if (!header_of(o, out.header, why) || !int_of(o, "count", out.count, why)) return false;
  if (const auto* kvs = o.if_contains("kvs")) {
    if (!kvs->is_array()) {
      why = "kvs is not an array";
      return false;
    }
    for (const auto& v : kvs->as_array()) {
      key_value kv;
      if (!kv_of(v, kv, why)) return false;
      out.kvs.push_back(std::move(kv));
    }
  }
  return true;
}

json::object op_json(const operation& op) {
  switch (op.what) {
    case operation::kind::put: {
      json::object p{{"key", b64(op.key)}, {"value", b64(op.value)}};
      if (op.lease) p["lease"] = num(op.lease);
      return {{"request_put", std::move(p)}};
    }
    case operation::kind::range: {
      json::object r{{"key", b64(op.key)}};
      if (!op.range_end.empty()) r["range_end"] = b64(op.range_end);
      return {{"request_range", std::move(r)}};
    }
    case operation::kind::delete_range: {
      json::object d{{"key", b64(op.key)}};
      if (!op.range_end.empty()) d["range_end"] = b64(op.range_end);
      return {{"request_delete_range", std::move(d)}};
    }
  }
  return {};
}

}  // namespace

std::string encode(const range_request& r) {
  json::object o{{"key", b64(r.key)}};
  if (!r.range_end.empty()) o["range_end"] = b64(r.range_end);
  if (r.serializable) o["serializable"] = true;
  if (r.limit) o["limit"] = num(r.limit);
  return json::serialize(o);
}

std::string encode(const txn_request& t) {
  json::array compares, success, failure;
  for (const auto& c : t.compares) {
    static constexpr const char* targets[] = {"MOD", "CREATE", "VERSION", "VALUE"};
    static constexpr const char* results[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
    json::object o{{"key", b64(c.key)},
                   {"target", targets[static_cast<int>(c.what)]},
                   {"result", results[static_cast<int>(c.how)]}};
    switch (c.what) {
      case compare::target::mod: o["mod_revision"] = num(c.number); break;
      case compare::target::create: o["create_revision"] = num(c.number); break;
      case compare::target::version: o["version"] = num(c.number); break;
      case compare::target::value: o["value"] = b64(c.value); break;
    }
    if (!c.range_end.empty()) o["range_end"] = b64(c.range_end);
    compares.push_back(std::move(o));
  }
  for (const auto& op : t.success) success.push_back(op_json(op));
  for (const auto& op : t.failure) failure.push_back(op_json(op));
  return json::serialize(json::object{{"compare", std::move(compares)}, {"success", std::move(success)},
                                      {"failure", std::move(failure)}});
}

std::string encode(const watch_create& w) {
  json::object c{{"key", b64(w.key)}};
  if (!w.range_end.empty()) c["range_end"] = b64(w.range_end);
  if (w.start_revision) c["start_revision"] = num(w.start_revision);
  if (w.progress_notify) c["progress_notify"] = true;
  return json::serialize(json::object{{"create_request", std::move(c)}});
}

std::string encode_lease_grant(std::int64_t ttl_seconds) {
  return json::serialize(json::object{{"TTL", num(ttl_seconds)}});
}

std::string encode_lease_id(std::int64_t id) { return json::serialize(json::object{{"ID", num(id)}}); }

expected<range_response, std::string> parse_range_response(std::string_view body) {
  auto o = object_of(body);
  if (!o) return unexpected(o.error());
  range_response out;
  std::string why;
  if (!range_of(*o, out, why)) return unexpected("range: " + why);
  return out;
}

expected<txn_response, std::string> parse_txn_response(std::string_view body) {
  auto o = object_of(body);
  if (!o) return unexpected(o.error());
  txn_response out;
  std::string why;
  if (!header_of(*o, out.header, why)) return unexpected("txn: " + why);
  out.succeeded = bool_of(*o, "succeeded");
  if (const auto* rs = o->if_contains("responses"); rs && rs->is_array()) {
    for (const auto& r : rs->as_array()) {
      if (!r.is_object()) continue;
      const auto* range = r.as_object().if_contains("response_range");
      if (!range || !range->is_object()) continue;
      range_response rr;
      if (!range_of(range->as_object(), rr, why)) return unexpected("txn: " + why);
      out.ranges.push_back(std::move(rr));
    }
  }
  return out;
}

expected<watch_response, std::string> parse_watch_response(std::string_view line) {
  auto o = object_of(line);
  if (!o) return unexpected(o.error());
  const auto* result = o->if_contains("result");
  if (!result || !result->is_object()) return unexpected("watch: " + error_message(line));
  const auto& r = result->as_object();
  watch_response out;
  std::string why;
  if (!header_of(r, out.header, why) || !int_of(r, "compact_revision", out.compact_revision, why))
    return unexpected("watch: " + why);
  out.created = bool_of(r, "created");
  out.canceled = bool_of(r, "canceled");
  if (const auto* reason = r.if_contains("cancel_reason"); reason && reason->is_string())
    out.cancel_reason = std::string(reason->as_string());
  if (const auto* events = r.if_contains("events"); events && events->is_array()) {
    for (const auto& e : events->as_array()) {
      if (!e.is_object()) return unexpected(std::string("watch: an event is not an object"));
      watch_event ev;
      const auto* type = e.as_object().if_contains("type");
      ev.deleted = type && type->is_string() && type->as_string() == "DELETE";
      const auto* kv = e.as_object().if_contains("kv");
      if (!kv || !kv_of(*kv, ev.kv, why)) return unexpected("watch: " + (why.empty() ? "an event without kv" : why));
      out.events.push_back(std::move(ev));
    }
  }
  return out;
}

expected<lease_grant_response, std::string> parse_lease_grant_response(std::string_view body) {
  auto o = object_of(body);
  if (!o) return unexpected(o.error());
  lease_grant_response out;
  std::string why;
  if (!int_of(*o, "ID", out.id, why) || !int_of(*o, "TTL", out.ttl, why)) return unexpected("lease grant: " + why);
  if (out.id == 0) return unexpected("lease grant: " + error_message(body));
  return out;
}

expected<std::int64_t, std::string> parse_keepalive_response(std::string_view body) {
  auto o = object_of(body);
  if (!o) return unexpected(o.error());
  const auto* result = o->if_contains("result");
  if (!result || !result->is_object()) return unexpected("keepalive: " + error_message(body));
  std::int64_t ttl = 0;
  std::string why;
  if (!int_of(result->as_object(), "TTL", ttl, why)) return unexpected("keepalive: " + why);
  return ttl;
}

std::string error_message(std::string_view body) {
  auto o = object_of(body);
  if (!o) return std::string(body.substr(0, 200));
  for (const char* key : {"message", "error"})
    if (const auto* m = o->if_contains(key); m && m->is_string()) return std::string(m->as_string());
  if (const auto* e = o->if_contains("error"); e && e->is_object())
    if (const auto* m = e->as_object().if_contains("message"); m && m->is_string()) return std::string(m->as_string());
  return std::string(body.substr(0, 200));
}

}  // namespace banyan::etcd
