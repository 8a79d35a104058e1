#pragma once
// PostgreSQL's logical replication stream, decoded: the COPY-both framing of a walsender
// (XLogData, keepalives, our standby status updates) and the messages of the pgoutput plugin,
// protocol version 1 (https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
// Pure: bytes in, typed messages out; every length is checked against what is there, so a
// truncated or hostile message is an error, never a read past the end (fuzzed: tests/fuzz).
#include "banyan/platform/expected.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace banyan::sync::pgoutput {

using lsn = std::uint64_t;
using bytes = std::span<const std::uint8_t>;

// ---- the walsender's framing (CopyData payloads) ----
struct xlog_data {
  lsn start = 0, end = 0;  // where this message's WAL starts; the server's WAL end
  std::int64_t sent_at = 0;  // microseconds since 2000-01-01
  bytes message;             // a pgoutput message
};
struct keepalive {
  lsn end = 0;  // the server has sent everything before this
  std::int64_t sent_at = 0;
  bool reply_requested = false;
};
expected<std::variant<xlog_data, keepalive>, std::string> decode_copy_data(bytes data);
// The standby status update: written, flushed and applied positions (flushed is what the slot may
// release), our clock, and whether the server should answer at once with a keepalive.
std::string standby_status_update(lsn written, lsn flushed, lsn applied, std::int64_t now_us, bool reply_requested);
// Microseconds since 2000-01-01 (PostgreSQL's epoch) for a Unix time in microseconds, and back.
std::int64_t to_pg_epoch_us(std::int64_t unix_us) noexcept;
std::int64_t to_unix_us(std::int64_t pg_us) noexcept;

// ---- pgoutput's messages ----
struct begin {
  lsn final_lsn = 0;
  std::int64_t committed_at = 0;  // microseconds since 2000-01-01
  std::uint32_t xid = 0;
};
struct commit {
  lsn commit_lsn = 0, end_lsn = 0;
  std::int64_t committed_at = 0;
};
struct origin {
  lsn origin_lsn = 0;
  std::string name;  // the replication origin the transaction was made under
};
struct column {
  std::string name;
  std::uint32_t type = 0;  // OID
  std::int32_t type_modifier = -1;
  bool key = false;  // part of the replica identity
};
struct relation {
  std::uint32_t id = 0;  // the table's OID
  std::string schema, name;
  char replica_identity = 'd';  // d default (the key), n nothing, f full, i index
  std::vector<column> columns;
};
struct value {
  enum class kind : char { null = 'n', unchanged_toast = 'u', text = 't' } what = kind::null;
  std::string text;
};
using tuple = std::vector<value>;
struct change {
  enum class kind : char { insert = 'I', update = 'U', remove = 'D' } what = kind::insert;
  std::uint32_t relation = 0;
  std::optional<tuple> old_row;  // update: with replica identity full ('O') or a changed key ('K'); delete: always
  bool old_is_key_only = false;  // 'K': only the key columns are set
  std::optional<tuple> new_row;  // insert, update
};
struct truncate {
  std::vector<std::uint32_t> relations;
};
// Type ('Y') and logical decoding messages ('M'): nothing the capture acts on.
struct other {
  char tag = 0;
};
using message = std::variant<begin, commit, origin, relation, change, truncate, other>;

expected<message, std::string> decode(bytes data);

}  // namespace banyan::sync::pgoutput
