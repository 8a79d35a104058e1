#pragma once
// pg_capture's decoder (private to banyan_sync_pg): a thread that streams the slot with pgoutput and
// writes each committed transaction's changes into the changelog, then confirms the position.
//
//   decode → log (one SQLite transaction per batch of PostgreSQL transactions, durable) → confirm
//
// A batch ends when the stream has nothing more to give at once, at a transaction's end: under
// load many transactions share one fsync; when quiet each is logged as it comes.
#include "banyan/sync/data_map.hpp"
#include "banyan/sync/pgoutput.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace banyan::sync {

class pg_stream {
 public:
  pg_stream(std::string conninfo, std::string slot, std::string log_path, data_map map);
  ~pg_stream();
  pg_stream(const pg_stream&) = delete;
  pg_stream& operator=(const pg_stream&) = delete;

  void start();
  void stop();

  // Waits until everything committed before `lsn` is in the changelog. False after `timeout`, or
  // when capture stopped (`why` says which).
  bool wait_logged_past(pgoutput::lsn lsn, std::chrono::milliseconds timeout, std::string& why);

  struct state {
    bool connected = false;
    std::string broken;      // capture stopped for good: why, and what to do
    std::string last_error;  // the last connection problem (retried)
    pgoutput::lsn confirmed = 0;  // the position confirmed to the server
  };
  state current() const;

 private:
  void run();
  void stream_once();
  void handle(pgoutput::bytes message);
  void flush_batch();
  void send_feedback(void* conn, bool reply_requested);
  void wake();

  const std::string conninfo_, slot_, log_path_;
  const data_map map_;

  mutable std::mutex mutex_;
  std::condition_variable progress_;  // durable_end_ moved, or the state changed
  bool stopping_ = false;
  bool reply_wanted_ = false;  // a head() waits: ask the server where it is now
  pgoutput::lsn durable_end_ = 0;  // everything committed before it is logged (or was not ours)
  state state_;
  std::thread thread_;
  int wake_pipe_[2] = {-1, -1};

  // The decoder thread's own.
  struct decoding;
  std::unique_ptr<decoding> d_;
};

}  // namespace banyan::sync
