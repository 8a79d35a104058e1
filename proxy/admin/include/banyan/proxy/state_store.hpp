#pragma once
// The proxy's durable state: the routes and services in force, the plan in progress, the audit log.
#include "banyan/platform/sqlite.hpp"
#include "banyan/proxy/route_table.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
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
  std::int64_t revision = 0;  // the shared state's revision it was read at (0 on one machine)
};

// The migration plan in progress: which plan (its text, as applied) and which stage.
struct plan_progress {
  std::string name;
  std::string document;  // the plan file's text
  std::string stage;
  std::string applied_at;
  std::string stage_entered_at;
  std::string completed_at;  // when the last stage's gates passed (plan.complete); empty before
  std::int64_t revision = 0;  // the shared state's revision it was read at (0 on one machine)
};

// A change prepared from a routing that is no longer the shared state's latest: another instance
// of a fleet changed it first. Nothing was saved; the admin API answers 409.
struct state_conflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where the routing, the plan in progress and the audit log persist: the state directory's SQLite
// on one machine (sqlite_state_store), etcd for a fleet (fleet/etcd_state_store.hpp). Every save
// carries its audit entry in the same transaction. Saves throw on failure (state_conflict when
// the change was prepared from an old revision); the admin API turns that into 503 or 409.
class state_store {
 public:
  virtual ~state_store() = default;

  // What was saved last; nullopt before the first save.
  virtual std::optional<stored_routing> load() = 0;
  // Saves the routing and its audit entry (and, when given, the plan progress) in one transaction,
  // if the shared state is still at `based_on` (the state_revision of the routing the change was
  // prepared from; ignored on one machine). Returns the new state revision (0 on one machine).
  virtual std::int64_t save(const stored_routing& routing, audit_entry entry, const plan_progress* progress = nullptr,
                            std::int64_t based_on = 0) = 0;
  virtual std::optional<plan_progress> plan() = 0;
  // Marks the plan in progress complete and saves its audit entry, in one transaction; false (and
  // nothing saved) when it was already complete. Moving to another stage clears the mark.
  virtual bool complete_plan(audit_entry entry) = 0;
  // An audit entry for something that changed no routing (a failed cut-over).
  virtual void record(audit_entry entry) = 0;
  virtual std::vector<audit_entry> audit(std::int64_t after, int limit) = 0;
  // Whether a change could be saved now; the reason if not.
  virtual bool writable(std::string& why) = 0;
  // Where the state lives, for messages: a directory, or etcd's endpoints and prefix.
  virtual std::string where() const = 0;
};

// The state directory's <dir>/banyan.db (SQLite, WAL). A restart resumes exactly where it was.
class sqlite_state_store final : public state_store {
 public:
  // Creates the directory and database when missing. Throws on failure (startup is an edge).
  explicit sqlite_state_store(const std::string& dir);

  std::optional<stored_routing> load() override;
  std::int64_t save(const stored_routing& routing, audit_entry entry, const plan_progress* progress = nullptr,
                    std::int64_t based_on = 0) override;
  std::optional<plan_progress> plan() override;
  bool complete_plan(audit_entry entry) override;
  void record(audit_entry entry) override;
  std::vector<audit_entry> audit(std::int64_t after, int limit) override;
  // Not when the state directory's filesystem is nearly full (below min_free_bytes), nor while a
  // write has failed and a probe write does not land yet; otherwise it takes and releases the
  // write lock.
  bool writable(std::string& why) override;
  std::string where() const override { return dir_; }

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
