#include "support/etcd_cluster.hpp"

#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace banyan::test {

namespace {

// A port the kernel says is free now. etcd cannot listen on port 0 and say which port it got, so
// the test asks the kernel first; a port taken in between fails the member's start, which is retried.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  const auto port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

}  // namespace

etcd_cluster::etcd_cluster(int members) {
  if (::access("/usr/bin/etcd", X_OK) != 0)
    throw std::runtime_error("etcd is not installed (Debian: etcd-server); scripts/test.sh installs it");
  for (int i = 0; i < members; ++i) {
    member m;
    m.name = "m" + std::to_string(i);
    m.client_port = free_port();
    m.peer_port = free_port();
    initial_cluster_ += (initial_cluster_.empty() ? "" : ",") + m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    members_.push_back(std::move(m));
  }
  for (int i = 0; i < members; ++i) launch(i, true);
  for (int i = 0; i < members; ++i) wait_ready(i);
}

etcd_cluster::~etcd_cluster() {
  for (auto& m : members_)
    if (m.proc) {
      m.proc->signal(SIGCONT);
      m.proc->signal(SIGKILL);
      m.proc->wait(std::chrono::seconds(5));
    }
}

void etcd_cluster::launch(int i, bool fresh) {
  auto& m = members_[static_cast<std::size_t>(i)];
  const std::string client = "http://127.0.0.1:" + std::to_string(m.client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  m.proc = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/bin/etcd", "--name", m.name, "--data-dir", dir_.file(m.name),
                               "--listen-client-urls", client, "--advertise-client-urls", client,
                               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                               "--initial-cluster", initial_cluster_, "--initial-cluster-state",
                               fresh ? "new" : "existing", "--initial-cluster-token", "banyan-test",
                               // Quick elections: a test kills members and waits for a leader.
                               "--heartbeat-interval", "50", "--election-timeout", "500"},
      dir_.file(m.name + ".log"));
}

void etcd_cluster::wait_ready(int i) {
  const auto port = members_[static_cast<std::size_t>(i)].client_port;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    // A linearizable read answers once the member is in a cluster with a leader.
    try {
      const auto r = http_json(port, "POST", "/v3/kv/range", R"({"key":"AA=="})");
      if (r.status == 200) return;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("etcd member " + std::to_string(i) + " did not answer within 30 s (see " +
                           dir_.file(members_[static_cast<std::size_t>(i)].name + ".log") + ")");
}

std::string etcd_cluster::endpoints() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += (out.empty() ? "" : ",") + client_url(i);
  return out;
}

std::string etcd_cluster::client_url(int i) const {
  return "http://127.0.0.1:" + std::to_string(members_[static_cast<std::size_t>(i)].client_port);
}

void etcd_cluster::kill(int i) {
  auto& m = members_[static_cast<std::size_t>(i)];
  if (!m.proc) return;
  m.proc->signal(SIGCONT);
  m.proc->signal(SIGKILL);
  m.proc->wait(std::chrono::seconds(5));
  m.proc.reset();
}

void etcd_cluster::start(int i) {
  launch(i, false);
  if (size() == 1) wait_ready(i);  // with peers it answers once a quorum is back
}

void etcd_cluster::replace_with_empty() {
  kill(0);
  std::filesystem::remove_all(dir_.file(members_[0].name));
  launch(0, true);
  wait_ready(0);
}

void etcd_cluster::pause(int i) { members_[static_cast<std::size_t>(i)].proc->signal(SIGSTOP); }
void etcd_cluster::resume(int i) { members_[static_cast<std::size_t>(i)].proc->signal(SIGCONT); }

std::string etcd_cluster::call(int i, const std::string& path, const std::string& json) const {
  const auto r = http_json(members_[static_cast<std::size_t>(i)].client_port, "POST", path, json);
  if (r.status != 200) throw std::runtime_error("etcd " + path + ": " + std::to_string(r.status) + " " + r.body);
  return r.body;
}

std::int64_t etcd_cluster::revision(int i) const {
  const auto v = boost::json::parse(call(i, "/v3/kv/range", R"({"key":"AA=="})"));
  return std::stoll(std::string(v.at("header").at("revision").as_string()));
}

void etcd_cluster::compact(std::int64_t revision, int i) const {
  call(i, "/v3/kv/compaction", R"({"revision":")" + std::to_string(revision) + R"(","physical":true})");
}

}  // namespace banyan::test
