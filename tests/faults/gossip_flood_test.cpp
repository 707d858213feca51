// One gossip agent (+ one legitimate peer) flooded for several seconds by
// unauthenticated senders on loopback:
//  (a) CurveZMQ on: clients whose key is not in the allowlist open connection after
//      connection to the ROUTER; every handshake must be refused by ZAP;
//  (b) loopback without keys (the agent's insecure-by-design loopback mode, which lets
//      the junk past the handshake): random junk frames, multi-part junk, frames just
//      over the configured max_message_bytes and frames far over it.
// Asserted: the refusal/drop counters grow, the attacked agent's memory stays bounded,
// the legitimate peer never sees it dead, and it does not crash.
// gossip_node rather than antiphased: same GossipAgent code, but its counters are
// readable on demand and no eBPF/cgroup work competes for the 2 cores.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include <zmq.hpp>

#include "agent/gossip/curve_keys.h"
#include "tests/faults/gossip_fault_support.h"
#include "tests/sanitizers.h"
#include "tests/system/free_ports.h"

using namespace std::chrono_literals;
using antiphase::testing::GossipChild;
using antiphase::testing::proc_status_bytes;
using antiphase::testing::seconds_since;
using antiphase::testing::wait_until;
namespace ag = antiphase::agent::gossip;
namespace fs = std::filesystem;

namespace {

constexpr double kInterval = 0.25, kSuspect = 1.5, kDead = 3.0, kPurge = 120.0;
constexpr size_t kMaxMessageBytes = 64 * 1024;
// ANTIPHASE_FLOOD_SECONDS=<n> lengthens the flood for a manual plateau check.
const auto kFloodDuration = std::chrono::seconds(std::getenv("ANTIPHASE_FLOOD_SECONDS") ? std::atoi(std::getenv("ANTIPHASE_FLOOD_SECONDS")) : 8);
constexpr int kAttackers = 3;
// Memory the flood may add to the attacked agent at its peak. What legitimately
// grows: libzmq per-connection buffers (8 KiB in/out each) for the few connections
// alive at once, at most one batch of 256 received messages (<= 128 KiB each) in
// flight, and glibc arenas that keep freed chunks. 16 MiB is far above that
// and far below what unbounded queueing of ~100 KiB frames reaches in seconds. Under
// ThreadSanitizer (.ci/tsan builds the target the same way) every byte the agent touches
// also costs shadow memory and the sanitizer's allocator keeps its own caches: twice the
// bound there (a clean machine's first CI run measured 16.1 MiB of growth under TSan
// while another job loaded the CPU; 16.3 MiB in session 35), still far below unbounded
// queueing. (Until session 35 this asked only GCC's __SANITIZE_THREAD__, which clang does
// not define, so .ci/tsan's clang build held to 16 MiB.)
constexpr size_t kMaxRssGrowthBytes = (antiphase::testing::kThreadSanitizer ? 32u : 16u) << 20;

struct MemoryFigures {
  size_t rss_before = 0, rss_peak_sampled = 0, hwm_end = 0, rss_after = 0;
};

class GossipFlood : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/antiphase-gossip-flood-XXXXXX";
    root_ = ::mkdtemp(pattern);
    fs::create_directories(root_ + "/allowed");
    base_port_ = ::antiphase::testing::free_port_block(20);
  }
  void TearDown() override {
    target_.reset();
    peer_.reset();
    fs::remove_all(root_);
  }

  std::string endpoint(int index) const { return "tcp://127.0.0.1:" + std::to_string(base_port_ + index); }

  std::vector<std::string> base_args(const std::string& name, int index) {
    return {GOSSIP_NODE_PATH, "--id", name, "--bind", endpoint(index), "--state-dir", root_ + "/state-" + name,
            "--interval", std::to_string(kInterval), "--suspect", std::to_string(kSuspect), "--dead",
            std::to_string(kDead), "--purge", std::to_string(kPurge), "--max-message-bytes",
            std::to_string(kMaxMessageBytes), "--log-level", "error"};
  }
  std::unique_ptr<GossipChild> launch(const std::vector<std::string>& args) {
    auto child = std::make_unique<GossipChild>(args);
    const auto ready = child->read_line(5s);
    EXPECT_TRUE(ready && ready->rfind("ready", 0) == 0) << ready.value_or("(no output)");
    return child;
  }

  // Target "t" at index 0 and legitimate peer "p" (seeded from t), both with CurveZMQ.
  void start_secure_pair() {
    for (const std::string name : {"t", "p"}) {
      const std::string base = root_ + "/" + name;
      keys_[name] = ag::z85_encode_key(ag::generate_keypair_files(base + ".key", base + ".key_secret").public_key);
      fs::copy_file(base + ".key", root_ + "/allowed/" + name + ".key");
    }
    auto secure = [&](const std::string& name, int index) {
      auto args = base_args(name, index);
      const std::vector<std::string> keys = {"--secret-key", root_ + "/" + name + ".key_secret", "--allowed-keys",
                                             root_ + "/allowed"};
      args.insert(args.end(), keys.begin(), keys.end());
      return args;
    };
    target_ = launch(secure("t", 0));
    auto peer_args = secure("p", 1);
    peer_args.push_back("--seed");
    peer_args.push_back(keys_["t"] + "@" + endpoint(0));
    peer_ = launch(peer_args);
    wait_for_pair();
  }
  // Same pair on loopback without keys: the agent accepts clear text there.
  void start_loopback_pair() {
    target_ = launch(base_args("t", 0));
    auto peer_args = base_args("p", 1);
    peer_args.push_back("--seed");
    peer_args.push_back(endpoint(0));
    peer_ = launch(peer_args);
    wait_for_pair();
  }
  void wait_for_pair() {
    ASSERT_TRUE(wait_until([&] { return peer_->peer_states()["t"] == "alive"; }, 15s)) << "p never saw t";
    ASSERT_TRUE(wait_until([&] { return target_->peer_states()["p"] == "alive"; }, 15s)) << "t never saw p";
    std::this_thread::sleep_for(1s);  // let the agents' allocations settle before the baseline
  }

  // Runs `attack` on kAttackers threads for kFloodDuration while the main thread samples
  // the target's memory and the legitimate peer's view of it every 100 ms.
  template <typename Attack>
  MemoryFigures flood(Attack attack) {
    MemoryFigures memory;
    memory.rss_before = proc_status_bytes(target_->pid(), "VmRSS");
    std::atomic<bool> stop{false};
    std::vector<std::thread> attackers;
    for (int i = 0; i < kAttackers; ++i) attackers.emplace_back([&, i] { attack(i, stop); });
    const auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - started < kFloodDuration) {
      memory.rss_peak_sampled = std::max(memory.rss_peak_sampled, proc_status_bytes(target_->pid(), "VmRSS"));
      const std::string seen = peer_->peer_states()["t"];
      if (seen != "alive") ++target_not_alive_polls_;
      EXPECT_NE(seen, "dead") << "the legitimate peer declared the flooded agent dead after " << seconds_since(started) << " s";
      std::this_thread::sleep_for(100ms);
    }
    stop = true;
    for (auto& thread : attackers) thread.join();
    memory.hwm_end = proc_status_bytes(target_->pid(), "VmHWM");
    std::this_thread::sleep_for(2s);
    memory.rss_after = proc_status_bytes(target_->pid(), "VmRSS");
    EXPECT_TRUE(target_->running()) << "the flooded agent exited with status " << target_->exit_status();
    EXPECT_EQ(peer_->peer_states()["t"], "alive") << "the legitimate peer lost the flooded agent";
    return memory;
  }

  void check_memory(const char* scenario, const MemoryFigures& memory) {
    std::printf("[figures] %s: VmRSS before %.1f MiB, sampled peak %.1f MiB, VmHWM %.1f MiB, after %.1f MiB; "
                "peer saw target not-alive in %zu polls\n",
                scenario, memory.rss_before / 1048576.0, memory.rss_peak_sampled / 1048576.0, memory.hwm_end / 1048576.0,
                memory.rss_after / 1048576.0, target_not_alive_polls_);
    ASSERT_GT(memory.rss_before, 0u);
    EXPECT_LT(memory.hwm_end, memory.rss_before + kMaxRssGrowthBytes)
        << "peak memory grew by more than " << (kMaxRssGrowthBytes >> 20) << " MiB";
    EXPECT_LT(memory.rss_after, memory.rss_before + kMaxRssGrowthBytes);
  }

  std::string root_;
  int base_port_ = 0;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<GossipChild> target_, peer_;
  size_t target_not_alive_polls_ = 0;
};

// A DEALER with a fresh CURVE keypair nobody allowlisted, aimed at the target.
std::unique_ptr<zmq::socket_t> stranger_socket(zmq::context_t& context, const std::string& server_key_z85,
                                               const std::string& endpoint) {
  char public_key[41], secret_key[41];
  zmq_curve_keypair(public_key, secret_key);
  auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer);
  socket->set(zmq::sockopt::linger, 0);
  zmq_setsockopt(socket->handle(), ZMQ_CURVE_SERVERKEY, server_key_z85.data(), 40);
  zmq_setsockopt(socket->handle(), ZMQ_CURVE_PUBLICKEY, public_key, 40);
  zmq_setsockopt(socket->handle(), ZMQ_CURVE_SECRETKEY, secret_key, 40);
  socket->connect(endpoint);
  return socket;
}

TEST_F(GossipFlood, UnallowlistedCurveClientsAreRefusedWithBoundedMemory) {
  start_secure_pair();
  const uint64_t refused_before = target_->stat("refused_auth").value_or(0);
  std::atomic<uint64_t> connections{0};
  const std::string server_key = keys_["t"], target_endpoint = endpoint(0);
  const MemoryFigures memory = flood([&](int, std::atomic<bool>& stop) {
    zmq::context_t context(1);
    while (!stop) {
      // Batches of 8 simultaneous handshakes, each given 50 ms to reach ZAP.
      std::vector<std::unique_ptr<zmq::socket_t>> batch;
      for (int i = 0; i < 8; ++i) {
        batch.push_back(stranger_socket(context, server_key, target_endpoint));
        batch.back()->send(zmq::buffer(std::string("let me in")), zmq::send_flags::dontwait);
      }
      connections += batch.size();
      std::this_thread::sleep_for(50ms);
    }
  });
  const uint64_t refused = target_->stat("refused_auth").value_or(0) - refused_before;
  const uint64_t accepted = target_->stat("msgs_in").value_or(0);
  std::printf("[figures] curve flood: %llu connections tried, refused_auth +%llu\n",
              static_cast<unsigned long long>(connections.load()), static_cast<unsigned long long>(refused));
  check_memory("curve flood", memory);
  // Most handshakes reach ZAP within their 50 ms; none may get through.
  EXPECT_GE(refused, connections / 4);
  EXPECT_GT(accepted, 0u);  // the legitimate peer's gossip still arrives
}

TEST_F(GossipFlood, JunkAndOversizeFramesAreDroppedWithBoundedMemory) {
  start_loopback_pair();
  const uint64_t malformed_before = target_->stat("dropped_malformed").value_or(0);
  const uint64_t oversize_before = target_->stat("dropped_oversize").value_or(0);
  std::atomic<uint64_t> junk_sent{0}, oversize_sent{0}, huge_sent{0};
  const std::string target_endpoint = endpoint(0);
  const MemoryFigures memory = flood([&](int attacker, std::atomic<bool>& stop) {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(target_endpoint);
    std::mt19937 random(attacker);
    const std::string oversize(kMaxMessageBytes + 32 * 1024, 'O');  // over the cap, under libzmq's cut-off
    const std::string huge(4 * kMaxMessageBytes, 'H');              // libzmq drops the connection
    uint64_t round = 0;
    while (!stop) {
      ++round;
      std::string junk(1 + random() % 512, '\0');
      for (char& byte : junk) byte = static_cast<char>(random());
      if (socket.send(zmq::buffer(junk), zmq::send_flags::dontwait)) ++junk_sent;
      if (round % 4 == 0 && socket.send(zmq::buffer(junk), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        socket.send(zmq::buffer(junk), zmq::send_flags::dontwait);  // [id][junk][junk]: not a gossip frame
        ++junk_sent;
      }
      if (round % 8 == 0 && socket.send(zmq::buffer(oversize), zmq::send_flags::dontwait)) ++oversize_sent;
      if (round % 500 == 0 && socket.send(zmq::buffer(huge), zmq::send_flags::dontwait)) ++huge_sent;
      if (round % 64 == 0) std::this_thread::sleep_for(1ms);  // leave the 2 cores some air
    }
  });
  const uint64_t malformed = target_->stat("dropped_malformed").value_or(0) - malformed_before;
  const uint64_t oversize = target_->stat("dropped_oversize").value_or(0) - oversize_before;
  std::printf("[figures] junk flood: queued %llu junk, %llu oversize (%zu B), %llu huge (%zu B); "
              "dropped_malformed +%llu, dropped_oversize +%llu\n",
              static_cast<unsigned long long>(junk_sent.load()), static_cast<unsigned long long>(oversize_sent.load()),
              kMaxMessageBytes + 32 * 1024, static_cast<unsigned long long>(huge_sent.load()), 4 * kMaxMessageBytes,
              static_cast<unsigned long long>(malformed), static_cast<unsigned long long>(oversize));
  check_memory("junk flood", memory);
  EXPECT_GT(malformed, 1000u);
  EXPECT_GT(oversize, 10u);
  // Nothing the attackers sent may be counted as accepted gossip beyond what p sent.
  EXPECT_LE(malformed, junk_sent.load());
}

}  // namespace
