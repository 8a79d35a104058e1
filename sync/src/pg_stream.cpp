#include "pg_stream.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/platform/log.hpp"
#include "banyan/platform/postgres.hpp"
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/pg_capture.hpp"
#include "banyan/sync/pg_image.hpp"

#include <boost/json/serialize.hpp>

#include <libpq-fe.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <stdexcept>

namespace banyan::sync {

namespace {

using clock_type = std::chrono::steady_clock;

// Capture cannot go on without missing changes: it stops, and says why and what to do.
class capture_stopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "Confirm the position at least every 10 s even when nothing passes the publication."
constexpr auto feedback_interval = std::chrono::seconds(10);

std::int64_t unix_us_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339_of_pg_time(std::int64_t pg_us) {
  return format_rfc3339(std::chrono::system_clock::time_point(std::chrono::microseconds(pgoutput::to_unix_us(pg_us))));
}

}  // namespace

struct pg_stream::decoding {
  sqlite::connection log;
  std::map<std::uint32_t, pgoutput::relation> relations;
  pgoutput::lsn logged_commit = 0;  // the last transaction in the changelog, by its commit LSN
  // The transaction being received.
  bool in_txn = false;
  bool skip = false;  // logged already (arriving again), or the applier's
  pgoutput::lsn txn_commit = 0;
  std::string txn_at;
  // The batch: an open SQLite transaction holding whole PostgreSQL transactions.
  bool batch_open = false;
  std::size_t batch_rows = 0;
  pgoutput::lsn batch_commit = 0;  // the newest transaction in it
  pgoutput::lsn pending_end = 0;   // the end of the newest transaction received whole
  clock_type::time_point last_feedback = clock_type::now() - std::chrono::hours(1);

  explicit decoding(const std::string& path) : log(path) {
    // The position is confirmed once the changelog is durable: FULL makes a commit survive power
    // loss, not just a crash of this process (WAL with NORMAL would not).
    log.exec("PRAGMA synchronous=FULL");
    auto st = log.prepare("SELECT commit_lsn FROM banyan_sync_decoded WHERE id = 1");
    if (st.step()) logged_commit = static_cast<pgoutput::lsn>(st.get_int64(0));
  }
};

pg_stream::pg_stream(std::string conninfo, std::string slot, std::string log_path, data_map map)
    : conninfo_(std::move(conninfo)), slot_(std::move(slot)), log_path_(std::move(log_path)), map_(std::move(map)) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
}

pg_stream::~pg_stream() {
  stop();
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void pg_stream::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void pg_stream::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  progress_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void pg_stream::wake() {
  const char b = 1;
  [[maybe_unused]] auto n = ::write(wake_pipe_[1], &b, 1);  // a full pipe is already awake
}

pg_stream::state pg_stream::current() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool pg_stream::wait_logged_past(pgoutput::lsn target, std::chrono::milliseconds timeout, std::string& why) {
  const auto deadline = clock_type::now() + timeout;
  std::unique_lock lock(mutex_);
  while (durable_end_ < target) {
    if (!state_.broken.empty()) {
      why = state_.broken;
      return false;
    }
    if (stopping_ || clock_type::now() >= deadline) {
      why = state_.connected ? "the decoder has not reached the server's current position yet"
                             : "the decoder is not connected to PostgreSQL" +
                                   (state_.last_error.empty() ? std::string() : ": " + state_.last_error);
      return false;
    }
    // The server reports its position when asked: ask again every few milliseconds until it has
    // read past the target (its first answer may come before it has).
    reply_wanted_ = true;
    lock.unlock();
    wake();
    lock.lock();
    progress_.wait_for(lock, std::chrono::milliseconds(3));
  }
  return true;
}

void pg_stream::run() {
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    try {
      stream_once();
      return;  // stopping
    } catch (const capture_stopped& e) {
      log::error("PostgreSQL capture stopped", {{"why", e.what()}});
      std::lock_guard lock(mutex_);
      state_.broken = e.what();
      state_.connected = false;
      progress_.notify_all();
      return;
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mutex_);
        if (state_.connected || state_.last_error != e.what())
          log::warn("PostgreSQL replication stream lost; retrying", {{"error", e.what()}});
        state_.connected = false;
        state_.last_error = e.what();
      }
      d_.reset();
      std::unique_lock lock(mutex_);
      progress_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
}

void pg_stream::stream_once() {
  d_ = std::make_unique<decoding>(log_path_);
  pg::connection c(conninfo_, {{"replication", "database"}, {"options", std::string(pg_session_options)}});
  try {
    // 0/0: from the slot's confirmed position. A transaction logged but not yet confirmed comes
    // again; its commit LSN says so.
    c.exec("START_REPLICATION SLOT " + c.quote_identifier(slot_) + " LOGICAL 0/0 (proto_version '1', publication_names " +
           c.quote_literal(slot_) + ")");
  } catch (const pg::error& e) {
    // 42704: no such slot (dropped behind our back); 55000: invalidated (max_slot_wal_keep_size).
    if (e.sqlstate() == "42704" || e.sqlstate() == "55000")
      throw capture_stopped("the replication slot " + slot_ + " is gone or invalidated (" + e.what() +
                            "): changes made since it went are not in the feed. Start banyan-sync again to make a new "
                            "slot; every follower then says it must copy again (banyan-sync uninstall on the follower, "
                            "then start it: it copies afresh)");
    throw;
  }
  {
    std::lock_guard lock(mutex_);
    state_.connected = true;
    state_.last_error.clear();
  }
  log::info("PostgreSQL replication stream started", {{"slot", slot_}});
  const int fd = PQsocket(c.native());
  for (;;) {
    for (;;) {
      char* buf = nullptr;
      const int n = PQgetCopyData(c.native(), &buf, 1);
      if (n == 0) break;
      if (n == -1) throw std::runtime_error("the server ended the replication stream: " + c.last_error());
      if (n < 0) throw std::runtime_error("reading the replication stream: " + c.last_error());
      struct freed {
        char* p;
        ~freed() { PQfreemem(p); }
      } f{buf};
      auto frame = pgoutput::decode_copy_data(pgoutput::bytes(reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(n)));
      if (!frame) throw std::runtime_error("the replication stream is malformed: " + frame.error());
      if (const auto* k = std::get_if<pgoutput::keepalive>(&*frame)) {
        if (!d_->in_txn && !d_->batch_open) {
          // Every transaction committed before the server's position has come and is logged.
          std::lock_guard lock(mutex_);
          durable_end_ = std::max({durable_end_, k->end, d_->pending_end});
          progress_.notify_all();
        }
        if (k->reply_requested) send_feedback(c.native(), false);
        continue;
      }
      handle(std::get<pgoutput::xlog_data>(*frame).message);
    }
    if (!d_->in_txn && d_->batch_open) {
      flush_batch();
      send_feedback(c.native(), false);
    } else if (!d_->in_txn) {
      flush_batch();  // nothing to write (transactions of other tables, or the applier's): the position moves
    }
    bool ask = false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      ask = reply_wanted_;
      reply_wanted_ = false;
    }
    if (ask || clock_type::now() - d_->last_feedback >= feedback_interval) send_feedback(c.native(), ask);
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, 1000) < 0 && errno != EINTR) throw std::runtime_error("poll failed");
    if (fds[1].revents & POLLIN) {
      char drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
    }
    if (PQconsumeInput(c.native()) == 0) throw std::runtime_error("the replication connection failed: " + c.last_error());
  }
  // Stopping: what is logged is confirmed, so that a restart resends as little as possible.
  if (!d_->in_txn && d_->batch_open) flush_batch();
  send_feedback(c.native(), false);
  std::lock_guard lock(mutex_);
  state_.connected = false;
}

void pg_stream::handle(pgoutput::bytes bytes) {
  auto decoded = pgoutput::decode(bytes);
  if (!decoded) throw std::runtime_error("a pgoutput message is malformed: " + decoded.error());
  auto& d = *d_;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, pgoutput::begin>) {
          d.in_txn = true;
          d.txn_commit = m.final_lsn;
          d.skip = m.final_lsn <= d.logged_commit;  // logged before a crash, not yet confirmed
          d.txn_at = rfc3339_of_pg_time(m.committed_at);
        } else if constexpr (std::is_same_v<T, pgoutput::origin>) {
          if (m.name.rfind(apply_origin_prefix, 0) == 0) d.skip = true;  // the applier's: no echo
        } else if constexpr (std::is_same_v<T, pgoutput::relation>) {
          if (const auto* a = map_.by_table(m.name))
            if (auto why = relation_problem(m, *a); !why.empty()) throw capture_stopped(why);
          d.relations[m.id] = std::move(m);
        } else if constexpr (std::is_same_v<T, pgoutput::change>) {
          if (d.skip) return;
          const auto rel = d.relations.find(m.relation);
          if (rel == d.relations.end())
            throw std::runtime_error("a change for relation " + std::to_string(m.relation) + " before its description");
          const auto* a = map_.by_table(rel->second.name);
          if (!a) return;  // the publication names only mapped tables; one unmapped since is not ours
          auto entries = logged_changes(rel->second, m, *a);
          if (!entries) throw capture_stopped(entries.error());
          if (!d.batch_open) {
            d.log.exec("BEGIN IMMEDIATE");
            d.batch_open = true;
          }
          for (auto& e : *entries) {
            d.log.prepare_cached("INSERT INTO banyan_sync_changelog(tbl, op, row, at) VALUES (?, ?, ?, ?)")
                ->bind_all(a->table, e.op, boost::json::serialize(e.row), d.txn_at)
                .run();
            ++d.batch_rows;
          }
          d.batch_commit = d.txn_commit;
        } else if constexpr (std::is_same_v<T, pgoutput::truncate>) {
          if (d.skip) return;
          for (auto id : m.relations) {
            const auto rel = d.relations.find(id);
            if (rel != d.relations.end() && map_.by_table(rel->second.name))
              throw capture_stopped("TRUNCATE of " + rel->second.name +
                                    " cannot be published row by row: the followers must copy again (banyan-sync "
                                    "uninstall on this side and on each follower, then start them)");
          }
        } else if constexpr (std::is_same_v<T, pgoutput::commit>) {
          d.in_txn = false;
          d.pending_end = m.end_lsn;
          // A batch past a few thousand rows commits at this boundary rather than growing.
          if (d.batch_open && d.batch_rows >= 5000) flush_batch();
        }
      },
      *decoded);
}

void pg_stream::flush_batch() {
  auto& d = *d_;
  if (d.batch_open) {
    d.log.prepare_cached("INSERT INTO banyan_sync_decoded(id, commit_lsn) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET commit_lsn = excluded.commit_lsn")
        ->bind_all(static_cast<std::int64_t>(d.batch_commit))
        .run();
    d.log.exec("COMMIT");
    d.batch_open = false;
    d.batch_rows = 0;
    d.logged_commit = d.batch_commit;
  }
  std::lock_guard lock(mutex_);
  durable_end_ = std::max(durable_end_, d.pending_end);
  progress_.notify_all();
}

void pg_stream::send_feedback(void* conn_ptr, bool reply_requested) {
  auto* conn = static_cast<PGconn*>(conn_ptr);
  pgoutput::lsn flushed = 0;
  {
    std::lock_guard lock(mutex_);
    flushed = durable_end_;
    state_.confirmed = flushed;
  }
  const auto msg = pgoutput::standby_status_update(flushed, flushed, flushed, pgoutput::to_pg_epoch_us(unix_us_now()),
                                                   reply_requested);
  if (PQputCopyData(conn, msg.data(), static_cast<int>(msg.size())) != 1 || PQflush(conn) != 0)
    throw std::runtime_error("sending the confirmed position failed: " + std::string(PQerrorMessage(conn)));
  d_->last_feedback = clock_type::now();
}

}  // namespace banyan::sync
