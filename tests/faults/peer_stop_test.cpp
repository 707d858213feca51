// SIGSTOP/SIGCONT of one gossip peer in a 5-node CurveZMQ cluster on loopback.
// gossip_node processes (not full antiphased daemons): the property under test is
// the gossip membership alone, gossip_node exposes the per-peer view on request
// every 100 ms, and five daemons with eBPF would add CPU load that blurs timings
// on a 2-core VM. One scenario, figures printed, every property asserted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "agent/gossip/curve_keys.h"
#include "tests/faults/gossip_fault_support.h"
#include "tests/system/free_ports.h"

using namespace std::chrono_literals;
using antiphase::testing::GossipChild;
using antiphase::testing::seconds_since;
using antiphase::testing::wait_until;
namespace ag = antiphase::agent::gossip;
namespace fs = std::filesystem;

namespace {

constexpr double kInterval = 0.25, kSuspect = 1.0, kDead = 2.5, kPurge = 120.0, kShortPurge = 4.0;
// Scheduling noise on a loaded 2-core VM + the 100 ms poll + one gossip round.
constexpr double kDetectionSlack = 1.5;
// SWIM: the stopped peer is suspected once a probe of it fails. Each observer probes its 4
// peers round-robin, so some probe reaches it within 4 intervals, and fails a probe
// interval later; not before the probe timeout (interval / 2).
constexpr double kFirstSuspicionBound = 5 * kInterval;
// Lifeguard: 4 observers confirm the suspicion, which then lasts suspect_after; an
// unconfirmed one would last dead_after, plus one last probe (<= 2 intervals).
constexpr double kDeadBound = kFirstSuspicionBound + kDead + 2 * kInterval;
// After SIGCONT: one heartbeat round to reach a seed plus a few hops of dissemination.
constexpr double kRecoveryBound = 4.0;
const std::array<std::string, 5> kNames = {"a", "b", "c", "d", "e"};
const std::string kStopped = "e";

class PeerStop : public ::testing::Test {
 protected:
  void SetUp() override { start_cluster(); }
  void start_cluster() {
    char pattern[] = "/tmp/antiphase-peer-stop-XXXXXX";
    root_ = ::mkdtemp(pattern);
    fs::create_directories(root_ + "/allowed");
    base_port_ = ::antiphase::testing::free_port_block(20);
    for (const auto& name : kNames) {
      const std::string base = root_ + "/" + name;
      keys_[name] = ag::z85_encode_key(ag::generate_keypair_files(base + ".key", base + ".key_secret").public_key);
      fs::copy_file(base + ".key", root_ + "/allowed/" + name + ".key");
    }
    for (size_t i = 0; i < kNames.size(); ++i) start(kNames[i], i);
    for (const auto& name : kNames)
      ASSERT_TRUE(wait_until([&] { return alive_count(name) == 4; }, 20s)) << name << " did not see 4 live peers";
  }
  void TearDown() override {
    nodes_.clear();
    fs::remove_all(root_);
  }

  std::string endpoint(size_t index) const { return "tcp://127.0.0.1:" + std::to_string(base_port_ + index); }

  // Every node seeds from "a" (star): the cluster forms in a couple of rounds.
  void start(const std::string& name, size_t index) {
    std::vector<std::string> args = {GOSSIP_NODE_PATH, "--id", name, "--bind", endpoint(index),
                                     "--state-dir", root_ + "/state-" + name, "--secret-key", root_ + "/" + name + ".key_secret",
                                     "--allowed-keys", root_ + "/allowed", "--interval", std::to_string(kInterval),
                                     "--suspect", std::to_string(kSuspect), "--dead", std::to_string(kDead),
                                     "--purge", std::to_string(purge_s_), "--log-level", "error"};
    if (index > 0) {
      args.push_back("--seed");
      args.push_back(keys_.at("a") + "@" + endpoint(0));
    }
    nodes_[name] = std::make_unique<GossipChild>(args);
    const auto ready = nodes_[name]->read_line(5s);
    ASSERT_TRUE(ready && ready->rfind("ready", 0) == 0) << name << ": " << ready.value_or("(no output)");
  }

  size_t alive_count(const std::string& observer) {
    size_t alive = 0;
    for (const auto& [id, state] : nodes_.at(observer)->peer_states()) alive += state == "alive";
    return alive;
  }

  // Polls every running observer; fails the test if one sees another running node not alive.
  std::map<std::string, std::map<std::string, std::string>> poll_running_views() {
    std::map<std::string, std::map<std::string, std::string>> views;
    for (const auto& observer : kNames) {
      if (observer == kStopped) continue;
      views[observer] = nodes_.at(observer)->peer_states();
      for (const auto& peer : kNames) {
        if (peer == observer || peer == kStopped) continue;
        const auto seen = views[observer].count(peer) ? views[observer][peer] : "missing";
        if (seen != "alive") ++flaps_;
        EXPECT_EQ(seen, "alive") << observer << " sees running peer " << peer << " as " << seen;
      }
    }
    return views;
  }

  std::string root_;
  int base_port_ = 0;
  std::map<std::string, std::string> keys_;
  std::map<std::string, std::unique_ptr<GossipChild>> nodes_;
  size_t flaps_ = 0;
  double purge_s_ = kPurge;
};

TEST_F(PeerStop, StoppedPeerIsSuspectedThenDeadAndRecoversAfterSigcont) {
  // --- SIGSTOP: every observer must go alive -> suspect -> dead for "e" only.
  std::map<std::string, double> suspect_at, dead_at;
  nodes_.at(kStopped)->signal(SIGSTOP);
  const auto stopped = std::chrono::steady_clock::now();
  std::optional<double> all_dead_at;
  while (seconds_since(stopped) < kDeadBound + 3 * kDetectionSlack) {
    for (const auto& [observer, view] : poll_running_views()) {
      const std::string state = view.count(kStopped) ? view.at(kStopped) : "missing";
      if (state != "alive" && !suspect_at.count(observer)) suspect_at[observer] = seconds_since(stopped);
      if (state == "dead" && !dead_at.count(observer)) dead_at[observer] = seconds_since(stopped);
      EXPECT_TRUE(!dead_at.count(observer) || state == "dead") << observer << " un-declared a stopped peer: " << state;
    }
    if (dead_at.size() == 4 && !all_dead_at) all_dead_at = seconds_since(stopped);
    if (all_dead_at && seconds_since(stopped) > *all_dead_at + 1.0) break;  // stay stopped 1 s past detection
    std::this_thread::sleep_for(100ms);
  }
  const double stopped_for = seconds_since(stopped);
  double first_suspicion = 1e9;
  for (const auto& [observer, at] : suspect_at) first_suspicion = std::min(first_suspicion, at);
  for (const auto& [observer, at] : dead_at)
    EXPECT_GE(at - first_suspicion, kSuspect - 0.3) << observer << " buried the stopped peer before suspect_after";
  for (const auto& observer : kNames) {
    if (observer == kStopped) continue;
    ASSERT_TRUE(suspect_at.count(observer)) << observer << " never suspected the stopped peer";
    ASSERT_TRUE(dead_at.count(observer)) << observer << " never declared the stopped peer dead";
    std::printf("[figures] observer %s: suspect after %.2f s, dead after %.2f s (suspect_after %.1f, dead_after %.1f)\n",
                observer.c_str(), suspect_at[observer], dead_at[observer], kSuspect, kDead);
    EXPECT_GE(suspect_at[observer], kInterval / 2 - 0.05) << "suspected before a probe could time out";
    EXPECT_LE(suspect_at[observer], kFirstSuspicionBound + kDetectionSlack);
    EXPECT_LE(dead_at[observer], kDeadBound + kDetectionSlack);
  }

  // --- SIGCONT: "e" must be alive everywhere again, and its own view must recover.
  nodes_.at(kStopped)->signal(SIGCONT);
  const auto resumed = std::chrono::steady_clock::now();
  std::optional<double> others_recovered_at, own_view_recovered_at;
  double own_view_last_bad = 0;
  size_t own_view_worst = 0;
  while (seconds_since(resumed) < kRecoveryBound + 4.0) {
    bool everyone_sees_it = true;
    for (const auto& [observer, view] : poll_running_views())
      everyone_sees_it &= view.count(kStopped) && view.at(kStopped) == "alive";
    if (everyone_sees_it && !others_recovered_at) others_recovered_at = seconds_since(resumed);
    size_t not_alive = 0;
    for (const auto& [id, state] : nodes_.at(kStopped)->peer_states()) not_alive += state != "alive";
    if (not_alive) own_view_last_bad = seconds_since(resumed);
    own_view_worst = std::max(own_view_worst, not_alive);
    if (!not_alive && alive_count(kStopped) == 4 && !own_view_recovered_at) own_view_recovered_at = seconds_since(resumed);
    if (others_recovered_at && own_view_recovered_at && seconds_since(resumed) > 2.0) break;  // and stays so 2 s
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(others_recovered_at) << "the resumed peer is not alive everywhere";
  ASSERT_TRUE(own_view_recovered_at) << "the resumed peer does not see its 4 peers alive";
  std::printf("[figures] stopped for %.2f s; after SIGCONT alive at all 4 observers after %.2f s; "
              "own view all-alive after %.2f s (worst: %zu peers not alive, last seen %.2f s after SIGCONT)\n",
              stopped_for, *others_recovered_at, *own_view_recovered_at, own_view_worst, own_view_last_bad);
  std::printf("[figures] flaps among running nodes: %zu\n", flaps_);
  EXPECT_LE(*others_recovered_at, kRecoveryBound);
  EXPECT_LE(*own_view_recovered_at, kRecoveryBound);
  EXPECT_EQ(flaps_, 0u);
}

// Stopped longer than purge_after: on waking the node finds every peer silent past
// purge_after. It must not forget them (and tombstone them, which would refuse their
// records until the tombstones expire): it was not listening, so that silence says
// nothing. GossipAgent discounts the time its loop was frozen.
class PeerStopPastPurge : public PeerStop {
 protected:
  void SetUp() override {
    purge_s_ = kShortPurge;
    start_cluster();
  }
};

TEST_F(PeerStopPastPurge, NodeStoppedPastPurgeKeepsItsPeersAndRejoins) {
  nodes_.at(kStopped)->signal(SIGSTOP);
  const auto stopped = std::chrono::steady_clock::now();
  // The others purge it (that is their job) and keep seeing each other alive.
  while (seconds_since(stopped) < kShortPurge + 1.5) {
    poll_running_views();
    std::this_thread::sleep_for(100ms);
  }
  nodes_.at(kStopped)->signal(SIGCONT);
  const auto resumed = std::chrono::steady_clock::now();
  std::optional<double> own_view_recovered_at, others_recovered_at;
  while (seconds_since(resumed) < kRecoveryBound + 4.0 && !(own_view_recovered_at && others_recovered_at)) {
    if (!own_view_recovered_at && alive_count(kStopped) == 4) own_view_recovered_at = seconds_since(resumed);
    bool everyone_sees_it = true;
    for (const auto& [observer, view] : poll_running_views())
      everyone_sees_it &= view.count(kStopped) && view.at(kStopped) == "alive";
    if (everyone_sees_it && !others_recovered_at) others_recovered_at = seconds_since(resumed);
    std::this_thread::sleep_for(100ms);
  }
  const auto purged = nodes_.at(kStopped)->stat("purged");
  std::printf("[figures] stopped %.1f s (purge_after %.1f): own view all-alive after %s s, alive at all 4 after %s s, "
              "peers purged by the woken node: %llu\n",
              kShortPurge + 1.5, kShortPurge,
              own_view_recovered_at ? std::to_string(*own_view_recovered_at).c_str() : "never",
              others_recovered_at ? std::to_string(*others_recovered_at).c_str() : "never",
              static_cast<unsigned long long>(purged.value_or(0)));
  ASSERT_TRUE(own_view_recovered_at) << "the woken node does not see its 4 peers alive again";
  ASSERT_TRUE(others_recovered_at) << "the woken node is not alive everywhere again";
  EXPECT_LE(*own_view_recovered_at, kRecoveryBound);
  EXPECT_LE(*others_recovered_at, kRecoveryBound);
  EXPECT_EQ(purged.value_or(1), 0u) << "the woken node purged peers it merely could not hear while stopped";
  EXPECT_EQ(flaps_, 0u);
}

}  // namespace
