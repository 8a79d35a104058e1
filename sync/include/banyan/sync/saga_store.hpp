#pragma once
// Sagas kept durable in the initiator's own SQLite database, in the same local transactions as the
// business changes they drive (docs/saga.md): a saga starts in the transaction that makes the
// initiator's change (the order placed), and an answer is handled in the transaction that finishes
// or undoes it (the order confirmed, or cancelled and its stock released) — so a crash loses both
// or neither. Every answer is handled once, by its event id: a feed replayed after a crash, or an
// answer delivered twice, changes nothing the second time.
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/saga.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace banyan::sync::saga {

// Creates the tables when missing (banyan_sagas, banyan_saga_answers).
void create_tables(sqlite::connection& c);

// Starts a saga: `id` waits on `step` until `deadline_ms` (unix ms; 0: none). False (nothing
// changed) when a saga with that id exists already.
bool begin(sqlite::connection& c, const std::string& id, const std::string& kind, const std::string& step,
           std::int64_t now_ms, std::int64_t deadline_ms);
std::optional<state> find(sqlite::connection& c, const std::string& id);

// An answer or the deadline for saga `id`: decided (saga.hpp), its event id recorded, the saga's
// state moved. The caller runs what the decision says in the same transaction. An event id handled
// before, or a saga that does not exist, is `none` with the reason.
decision handle(sqlite::connection& c, const std::string& id, const input& in);

// The initiator ended a running saga itself (the customer cancelled the order): compensated, with
// `reason`; a later success is a late answer. False when it was not running.
bool abandon(sqlite::connection& c, const std::string& id, const std::string& reason, std::int64_t now_ms);

// Running sagas whose deadline passed by `now_ms`, oldest deadline first: what a sweeper
// compensates.
std::vector<state> due(sqlite::connection& c, std::int64_t now_ms, int limit);

// For the endpoint and `banyan saga list`: sagas newest first, optionally only `running` ones, or
// only stuck ones — running past their deadline (the sweeper should have compensated them) or
// running longer than `stuck_after_ms`.
struct list_filter {
  std::optional<status> only;
  bool stuck = false;
  std::int64_t stuck_after_ms = 60'000;
  std::int64_t now_ms = 0;
  int limit = 100;
};
std::vector<state> list(sqlite::connection& c, const list_filter& f);
// Counts by status, and how many are stuck (as list_filter says).
struct counts {
  std::int64_t running = 0, completed = 0, compensated = 0, stuck = 0;
};
counts count(sqlite::connection& c, std::int64_t now_ms, std::int64_t stuck_after_ms);

boost::json::object to_json(const state& s, std::int64_t now_ms);

}  // namespace banyan::sync::saga
