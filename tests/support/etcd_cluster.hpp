#pragma once
// An etcd cluster of the test's own (Debian's etcd-server): N members on loopback, each on free
// client and peer ports, data in a temp dir. Members can be stopped (as a crash), paused (a hung
// or partitioned member) and started again on the same ports and data. Everything stops with the
// object.
#include "banyan/platform/child_process.hpp"
#include "support/temp_dir.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace banyan::test {

class etcd_cluster {
 public:
  explicit etcd_cluster(int members = 1);
  ~etcd_cluster();
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  // "http://127.0.0.1:P1,http://127.0.0.1:P2,…": what banyan-proxy --etcd takes.
  std::string endpoints() const;
  std::string client_url(int member) const;
  int size() const noexcept { return static_cast<int>(members_.size()); }

  void kill(int member);    // SIGKILL
  void start(int member);   // again, on its ports and data; waits until it answers
  // A one-member cluster replaced by a new, empty one on the same ports (another cluster id), as
  // after restoring the wrong backup or recreating the cluster.
  void replace_with_empty();
  void pause(int member);   // SIGSTOP: alive to TCP, answering nothing
  void resume(int member);  // SIGCONT

  // A POST to the member's JSON gateway (/v3/...): the answer's body; throws when it fails.
  std::string call(int member, const std::string& path, const std::string& json) const;
  std::int64_t revision(int member = 0) const;  // the store's current revision
  void compact(std::int64_t revision, int member = 0) const;

 private:
  struct member {
    std::string name;
    std::uint16_t client_port = 0, peer_port = 0;
    std::unique_ptr<child_process> proc;
  };
  void launch(int i, bool fresh);
  void wait_ready(int i);
  temp_dir dir_;
  std::vector<member> members_;
  std::string initial_cluster_;
};

}  // namespace banyan::test
