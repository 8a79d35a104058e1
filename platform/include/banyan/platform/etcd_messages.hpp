#pragma once
// etcd v3's JSON gateway, as values: the requests Banyan sends (/v3/kv/range, /v3/kv/txn,
// /v3/watch, /v3/lease/*) and the answers it reads. Keys and values travel base64-encoded and
// 64-bit numbers as strings; fields equal to their default (0, false, empty) are left out of
// answers. Pure: no sockets (etcd_client.hpp sends them).
#include "banyan/platform/expected.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::etcd {

struct response_header {
  std::string cluster_id;  // decimal, as etcd prints it: a changed id means another cluster
  std::int64_t revision = 0;
};

struct key_value {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

// The end of the range holding every key that starts with `prefix` (etcd's "range_end").
std::string prefix_end(std::string_view prefix);

struct range_request {
  std::string key, range_end;  // range_end empty: the one key
  bool serializable = false;   // false: linearizable (answered by a quorum)
  std::int64_t limit = 0;
};
struct range_response {
  response_header header;
  std::vector<key_value> kvs;
  std::int64_t count = 0;
};

struct compare {
  enum class target { mod, create, version, value } what = target::mod;
  enum class result { equal, not_equal, greater, less } how = result::equal;
  std::string key;
  std::int64_t number = 0;  // mod/create revision or version
  std::string value;        // for target::value
  std::string range_end;    // non-empty: every key in [key, range_end) must satisfy it
};
struct operation {
  enum class kind { put, range, delete_range } what = kind::put;
  std::string key, value, range_end;
  std::int64_t lease = 0;
};
// The shapes Banyan's txns use.
inline compare mod_is(std::string key, std::int64_t revision) {
  return {compare::target::mod, compare::result::equal, std::move(key), revision, {}, {}};
}
inline compare created_at(std::string key, std::int64_t revision) {  // 0: the key does not exist
  return {compare::target::create, compare::result::equal, std::move(key), revision, {}, {}};
}
inline compare all_created_before(std::string key, std::string range_end, std::int64_t revision) {
  return {compare::target::create, compare::result::less, std::move(key), revision, {}, std::move(range_end)};
}
inline operation put(std::string key, std::string value, std::int64_t lease = 0) {
  return {operation::kind::put, std::move(key), std::move(value), {}, lease};
}
inline operation get(std::string key, std::string range_end = {}) {
  return {operation::kind::range, std::move(key), {}, std::move(range_end), 0};
}
inline operation remove(std::string key, std::string range_end = {}) {
  return {operation::kind::delete_range, std::move(key), {}, std::move(range_end), 0};
}

struct txn_request {
  std::vector<compare> compares;
  std::vector<operation> success, failure;
};
struct txn_response {
  response_header header;
  bool succeeded = false;
  std::vector<range_response> ranges;  // the range operations' answers, in order
};

struct watch_create {
  std::string key, range_end;
  std::int64_t start_revision = 0;  // 0: from now
  bool progress_notify = false;
};
struct watch_event {
  bool deleted = false;
  key_value kv;
};
struct watch_response {
  response_header header;
  bool created = false, canceled = false;
  std::int64_t compact_revision = 0;  // set when the start revision was compacted away
  std::string cancel_reason;
  std::vector<watch_event> events;
};

struct lease_grant_response {
  std::int64_t id = 0, ttl = 0;
};

std::string encode(const range_request& r);
std::string encode(const txn_request& t);
std::string encode(const watch_create& w);
std::string encode_lease_grant(std::int64_t ttl_seconds);
std::string encode_lease_id(std::int64_t id);  // keepalive and revoke

// Each returns what was wrong when the text is not that answer.
expected<range_response, std::string> parse_range_response(std::string_view body);
expected<txn_response, std::string> parse_txn_response(std::string_view body);
expected<watch_response, std::string> parse_watch_response(std::string_view line);
expected<lease_grant_response, std::string> parse_lease_grant_response(std::string_view body);
// A keepalive's answer: the lease's remaining TTL in seconds, 0 when it is gone.
expected<std::int64_t, std::string> parse_keepalive_response(std::string_view body);
// The message of an error answer ({"error": …, "message": …, "code": N}), or the body itself.
std::string error_message(std::string_view body);

}  // namespace banyan::etcd
