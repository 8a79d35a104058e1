#pragma once
// A fleet's side of the write cut-over barrier (docs/fleet.md), for write_cutover: the hold written
// where every instance sees it, and whether every instance has stopped the moving writes. The
// switch itself is the state store's save, which takes the hold down in the same txn. None on one
// machine.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace banyan::proxy {

class fleet_barrier {
 public:
  virtual ~fleet_barrier() = default;
  // Writes the hold on `routes` if the fleet's state is still at `based_on` and no other barrier
  // is on; false with why otherwise (nothing written).
  virtual bool begin(const std::vector<std::string>& routes, std::int64_t based_on,
                     std::chrono::milliseconds hold_limit, std::string& why) = 0;
  // Whether every instance holds these writes with none in flight (or is gone: its lease expired,
  // so it stopped forwarding writes before that, and a grace period passed); otherwise which ones
  // it waits for, in words.
  virtual bool drained(std::string& waiting_for) = 0;
  // An instance says directly (over the admin API, not through etcd) that it holds the writes of
  // hold `hold_id` with none in flight. False when that is not the hold this instance coordinates.
  virtual bool acked(const std::string& hold_id, const std::string& instance) = 0;
  // Takes the hold down after a barrier that did not switch: the instances release the writes to
  // the owner they had.
  virtual void abandon() = 0;
};

}  // namespace banyan::proxy
