#pragma once
// What an extracted service gives the sync library: how a copied row and a feed event change its
// own tables. Called inside the transaction that also moves the sync cursor, so a change and the
// record of having made it commit together (exactly-once effect across crashes).
#include "banyan/platform/sqlite.hpp"
#include "banyan/sync/feed.hpp"

#include <string>
#include <string_view>

namespace banyan::sync {

// Where the sync stands. While `copying` and `catching_up`, rows come from a snapshot read page by
// page while writes went on, so a row may briefly hold a value another row still holds in the copy
// (a unique field that moved between them); a sink may resolve that by dropping the other row,
// whose own later event restores it. Once `following`, every event continues one history and such
// a conflict is a real divergence: fail.
enum class sync_phase { copying, catching_up, following };
std::string_view to_string(sync_phase p) noexcept;

struct apply_outcome {
  enum class kind { applied, ignored, failed } what = kind::applied;
  std::string why;  // for ignored (counted) and failed (the sync stops and reports it)
  static apply_outcome applied() { return {}; }
  static apply_outcome ignored(std::string why) { return {kind::ignored, std::move(why)}; }
  static apply_outcome failed(std::string why) { return {kind::failed, std::move(why)}; }
};

class entity_sink {
 public:
  virtual ~entity_sink() = default;
  // The aggregate this sink keeps ("product"): its snapshot is copied, its events applied; events
  // of other aggregates are counted as ignored.
  virtual std::string_view aggregate() const = 0;
  // A row of the snapshot: insert or replace it.
  virtual apply_outcome apply_row(sqlite::connection& c, const snapshot_row& row, sync_phase phase) = 0;
  // An event of the aggregate, in feed order. Must be idempotent in effect (the payload carries
  // the row's whole state, so applying one twice leaves the same row).
  virtual apply_outcome apply_event(sqlite::connection& c, const feed_event& e, sync_phase phase) = 0;
};

}  // namespace banyan::sync
