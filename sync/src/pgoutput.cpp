#include "banyan/sync/pgoutput.hpp"

namespace banyan::sync::pgoutput {

namespace {

// Reads big-endian integers and NUL-terminated strings off the front, failing once anything
// asked for is not there.
class reader {
 public:
  explicit reader(bytes b) : b_(b) {}
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return pos_ == b_.size(); }
  std::size_t left() const noexcept { return b_.size() - pos_; }

  std::uint64_t uint(std::size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | b_[pos_ + i];
    pos_ += n;
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::uint64_t u64() { return uint(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }

  std::string cstring() {
    if (!ok_) return {};
    for (std::size_t i = pos_; i < b_.size(); ++i)
      if (b_[i] == 0) {
        std::string s(reinterpret_cast<const char*>(b_.data() + pos_), i - pos_);
        pos_ = i + 1;
        return s;
      }
    ok_ = false;
    return {};
  }
  std::string take(std::size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  bytes rest() {
    auto r = b_.subspan(pos_);
    pos_ = b_.size();
    return r;
  }

 private:
  bytes b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

expected<tuple, std::string> read_tuple(reader& r) {
  const auto n = r.u16();
  if (!r.ok()) return unexpected(std::string("a tuple's column count is cut short"));
  tuple t;
  // Each column takes at least one byte: a count the message cannot hold is refused before
  // anything is reserved for it.
  if (n > r.left()) return unexpected("a tuple claims " + std::to_string(n) + " columns in " + std::to_string(r.left()) + " bytes");
  t.reserve(n);
  for (std::uint16_t i = 0; i < n; ++i) {
    const auto tag = r.u8();
    value v;
    switch (tag) {
      case 'n': v.what = value::kind::null; break;
      case 'u': v.what = value::kind::unchanged_toast; break;
      case 't': {
        const auto len = r.u32();
        if (r.ok() && len > r.left())
          return unexpected("column " + std::to_string(i + 1) + "'s value claims " + std::to_string(len) + " bytes, " +
                            std::to_string(r.left()) + " are left");
        v.what = value::kind::text;
        v.text = r.take(len);
        break;
      }
      default:
        if (!r.ok()) return unexpected("column " + std::to_string(i + 1) + " is cut short");
        // 'b' (binary) is only sent when asked for; we never ask.
        return unexpected("column " + std::to_string(i + 1) + " has the unknown kind '" + std::string(1, static_cast<char>(tag)) + "'");
    }
    if (!r.ok()) return unexpected("column " + std::to_string(i + 1) + " is cut short");
    t.push_back(std::move(v));
  }
  return t;
}

template <class T>
expected<message, std::string> finish(reader& r, T&& m, std::string_view what) {
  if (!r.ok()) return unexpected(std::string(what) + " message is cut short");
  if (!r.done()) return unexpected(std::string(what) + " message has " + std::to_string(r.left()) + " bytes too many");
  return message(std::forward<T>(m));
}

}  // namespace

expected<std::variant<xlog_data, keepalive>, std::string> decode_copy_data(bytes data) {
  if (data.empty()) return unexpected(std::string("an empty CopyData message"));
  reader r(data.subspan(1));
  if (data[0] == 'w') {
    xlog_data x;
    x.start = r.u64();
    x.end = r.u64();
    x.sent_at = r.i64();
    if (!r.ok()) return unexpected(std::string("an XLogData header is cut short"));
    x.message = r.rest();
    return std::variant<xlog_data, keepalive>(x);
  }
  if (data[0] == 'k') {
    keepalive k;
    k.end = r.u64();
    k.sent_at = r.i64();
    k.reply_requested = r.u8() != 0;
    if (!r.ok() || !r.done()) return unexpected(std::string("a keepalive is not 17 bytes"));
    return std::variant<xlog_data, keepalive>(k);
  }
  return unexpected("an unknown CopyData message '" + std::string(1, static_cast<char>(data[0])) + "'");
}

std::string standby_status_update(lsn written, lsn flushed, lsn applied, std::int64_t now_us, bool reply_requested) {
  std::string out(1, 'r');
  auto put = [&](std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  put(written);
  put(flushed);
  put(applied);
  put(static_cast<std::uint64_t>(now_us));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

// 946684800 s: 2000-01-01 in Unix time.
std::int64_t to_pg_epoch_us(std::int64_t unix_us) noexcept { return unix_us - 946'684'800'000'000; }
std::int64_t to_unix_us(std::int64_t pg_us) noexcept { return pg_us + 946'684'800'000'000; }

expected<message, std::string> decode(bytes data) {
  if (data.empty()) return unexpected(std::string("an empty pgoutput message"));
  reader r(data.subspan(1));
  switch (data[0]) {
    case 'B': {
      begin b;
      b.final_lsn = r.u64();
      b.committed_at = r.i64();
      b.xid = r.u32();
      return finish(r, b, "a Begin");
    }
    case 'C': {
      commit c;
      (void)r.u8();  // flags, unused
      c.commit_lsn = r.u64();
      c.end_lsn = r.u64();
      c.committed_at = r.i64();
      return finish(r, c, "a Commit");
    }
    case 'O': {
      origin o;
      o.origin_lsn = r.u64();
      o.name = r.cstring();
      return finish(r, o, "an Origin");
    }
    case 'R': {
      relation rel;
      rel.id = r.u32();
      rel.schema = r.cstring();
      rel.name = r.cstring();
      rel.replica_identity = static_cast<char>(r.u8());
      const auto n = r.u16();
      if (r.ok() && n > r.left()) return unexpected("a Relation claims " + std::to_string(n) + " columns in " + std::to_string(r.left()) + " bytes");
      for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
        column c;
        c.key = (r.u8() & 1) != 0;
        c.name = r.cstring();
        c.type = r.u32();
        c.type_modifier = r.i32();
        rel.columns.push_back(std::move(c));
      }
      return finish(r, std::move(rel), "a Relation");
    }
    case 'I':
    case 'U':
    case 'D': {
      change ch;
      ch.what = static_cast<change::kind>(data[0]);
      ch.relation = r.u32();
      auto tag = r.u8();
      if (!r.ok()) return unexpected(std::string("a change message is cut short"));
      if (ch.what != change::kind::insert && (tag == 'K' || tag == 'O')) {
        auto old = read_tuple(r);
        if (!old) return unexpected(old.error());
        ch.old_row = std::move(*old);
        ch.old_is_key_only = tag == 'K';
        if (ch.what == change::kind::remove) return finish(r, std::move(ch), "a Delete");
        tag = r.u8();
      }
      if (ch.what == change::kind::remove)
        return unexpected(std::string("a Delete without the old row's key"));
      if (tag != 'N') return unexpected("a change message has '" + std::string(1, static_cast<char>(tag)) + "' where 'N' belongs");
      auto row = read_tuple(r);
      if (!row) return unexpected(row.error());
      ch.new_row = std::move(*row);
      return finish(r, std::move(ch), ch.what == change::kind::insert ? "an Insert" : "an Update");
    }
    case 'T': {
      truncate t;
      const auto n = r.u32();
      (void)r.u8();  // options: CASCADE, RESTART IDENTITY
      if (r.ok() && n > r.left() / 4) return unexpected("a Truncate claims " + std::to_string(n) + " relations");
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) t.relations.push_back(r.u32());
      return finish(r, std::move(t), "a Truncate");
    }
    case 'Y':
    case 'M':
      return message(other{static_cast<char>(data[0])});
    default:
      return unexpected("an unknown pgoutput message '" + std::string(1, static_cast<char>(data[0])) + "'");
  }
}

}  // namespace banyan::sync::pgoutput
