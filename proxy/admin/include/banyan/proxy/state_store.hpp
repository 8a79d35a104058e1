#pragma once
// The proxy's durable state in <state_dir>/banyan.db (SQLite, WAL): the routes and services in
// force, and the audit log. A restart resumes exactly where it was.
#include "banyan/platform/sqlite.hpp"
#include "banyan/proxy/route_table.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace banyan::proxy {

struct audit_entry {
  std::int64_t id = 0;
  std::string at;
  std::string operator_name;  // who (the CLI sends $USER or --as)
  std::string token_id;       // which token authorised it
  std::string action;         // routes.replace, route.mode, …
  std::string target;         // a route id, or "*"
  std::string before;         // JSON
  std::string after;          // JSON
  std::string reason;
};

struct stored_routing {
  std::vector<route> routes;
  std::map<std::string, std::string> services;
};

// The migration plan in progress: which plan (its text, as applied) and which stage.
struct plan_progress {
  std::string name;
  std::string document;  // the plan file's text
  std::string stage;
  std::string applied_at;
  std::string stage_entered_at;
  std::string completed_at;  // when the last stage's gates passed (plan.complete); empty before
};

class state_store {
 public:
  // Creates the directory and database when missing. Throws on failure (startup is an edge).
  explicit state_store(const std::string& dir);

  // What was saved last; nullopt before the first save.
  std::optional<stored_routing> load();
  // Saves the routing and its audit entry (and, when given, the plan progress) in one transaction.
  // Throws sqlite::error on failure.
  void save(const stored_routing& routing, audit_entry entry, const plan_progress* progress = nullptr);
  std::optional<plan_progress> plan();
  // Marks the plan in progress complete and saves its audit entry, in one transaction; false (and
  // nothing saved) when it was already complete. Moving to another stage clears the mark.
  bool complete_plan(audit_entry entry);
  // An audit entry for something that changed no routing (a failed cut-over). Throws sqlite::error.
  void record(audit_entry entry);
  std::vector<audit_entry> audit(std::int64_t after, int limit);
  // Whether a change could be saved now; the reason if not. Not when the state directory's
  // filesystem is nearly full (below min_free_bytes), nor while a write has failed and a probe
  // write does not land yet; otherwise it takes and releases the write lock.
  bool writable(std::string& why);
  const std::string& dir() const noexcept { return dir_; }

  // Free space below which the store reports itself unwritable. A save is a few pages; what
  // matters is saying so before one fails, and SQLite needs room for its WAL frames and index.
  static constexpr std::uintmax_t min_free_bytes = 1024 * 1024;

 private:
  // Runs a write, remembering its failure for writable() (a full disk fails writes, never the
  // write lock).
  template <class F>
  auto writing(F&& f);

  std::string dir_;
  std::mutex mutex_;
  banyan::sqlite::connection db_;
  std::string last_write_error_;  // under mutex_; cleared by a write that lands
};

}  // namespace banyan::proxy
