#pragma once
// A cluster of gossip_node processes driven over stdin/stdout, shared by the loopback
// and network-namespace tests. Short timers (interval 0.2 s, suspect 1 s, dead 2 s,
// purge 4 s) keep the suites fast. Subclasses choose where each node listens and what
// its command runs under (e.g. `ip netns exec <ns>`).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/gossip/curve_keys.h"
#include "tests/gossip/child_process.h"
#include "tests/system/free_ports.h"

namespace antiphase::gossip::testing {

namespace cluster_detail {
namespace ag = antiphase::agent::gossip;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
inline constexpr double kInterval = 0.2, kSuspect = 1.0, kDead = 2.0, kPurge = 4.0;


class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/antiphase-gossip-test-XXXXXX";
    root_ = ::mkdtemp(pattern);
    fs::create_directories(root_ + "/allowed");
    base_port_ = ::antiphase::testing::free_port_block(20);
  }
  void TearDown() override {
    nodes_.clear();
    fs::remove_all(root_);
  }

  // Where node `index` listens; netns clusters override it.
  virtual std::string endpoint(int index) const { return "tcp://127.0.0.1:" + std::to_string(base_port_ + index); }
  // What node `index`'s command line is prefixed with (e.g. ip netns exec <ns>).
  virtual std::vector<std::string> command_prefix(int /*index*/) const { return command_prefix_; }

  // Generates a keypair for node `name`; its public key goes into the allowlist if `allowed`.
  std::string make_keys(const std::string& name, bool allowed) {
    const std::string base = root_ + "/" + name;
    const ag::CurveKeypair keys = ag::generate_keypair_files(base + ".key", base + ".key_secret");
    if (allowed) fs::copy_file(base + ".key", root_ + "/allowed/" + name + ".key");
    keys_[name] = ag::z85_encode_key(keys.public_key);
    return keys_[name];
  }

  std::vector<std::string> base_args(const std::string& name, int index) {
    std::vector<std::string> args = command_prefix(index);
    std::vector<std::string> own = {GOSSIP_NODE_PATH, "--id", name, "--bind", endpoint(index), "--state-dir", root_ + "/state-" + name,
            "--interval", std::to_string(interval_s_), "--suspect", std::to_string(suspect_s_), "--dead",
            std::to_string(dead_s_), "--purge", std::to_string(purge_s_), "--log-level", log_level_};
    args.insert(args.end(), own.begin(), own.end());
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    return args;
  }

  // Starts a secure node; `seed` is the index/name of its seed (or -1). Its allowlist is
  // the shared <root>/allowed unless `allowed_dir` names another directory.
  ChildProcess& start_secure(const std::string& name, int index, const std::string& seed_name = "", int seed_index = -1,
                             const std::string& allowed_dir = "") {
    auto args = base_args(name, index);
    args.push_back("--secret-key");
    args.push_back(root_ + "/" + name + ".key_secret");
    args.push_back("--allowed-keys");
    args.push_back(allowed_dir.empty() ? root_ + "/allowed" : allowed_dir);
    if (seed_index >= 0) {
      args.push_back("--seed");
      args.push_back(keys_.at(seed_name) + "@" + endpoint(seed_index));
    }
    return launch(name, args);
  }

  // Each node's log (stderr) is appended to <root>/<name>.log, for tests that check what was said.
  ChildProcess& launch(const std::string& name, const std::vector<std::string>& args) {
    nodes_[name] = std::make_unique<ChildProcess>(args, log_path(name));
    const auto ready = nodes_[name]->read_line(5s);
    EXPECT_TRUE(ready && ready->rfind("ready", 0) == 0) << name << ": " << ready.value_or("(no output)");
    return *nodes_[name];
  }

  ChildProcess& node(const std::string& name) { return *nodes_.at(name); }
  std::string log_path(const std::string& name) const { return root_ + "/" + name + ".log"; }
  std::string log_of(const std::string& name) const {
    std::ifstream in(log_path(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::map<std::string, std::string> peer_states(const std::string& observer) { return node(observer).peer_states(); }
  uint64_t peer_generation(const std::string& observer, const std::string& id) {
    for (const std::string& line : node(observer).ask_until_end("peers")) {
      std::istringstream words(line);
      std::string tag, peer, state;
      uint64_t generation = 0;
      words >> tag >> peer >> state >> generation;
      if (peer == id) return generation;
    }
    return 0;
  }
  uint64_t stat(const std::string& name, const std::string& key) {
    const std::optional<uint64_t> value = node(name).stat(key);
    if (!value) ADD_FAILURE() << "no stat " << key;
    return value.value_or(0);
  }

  // Five secure nodes in a chain of seeds (b->a, c->b, d->c, e->d): news must hop.
  void start_five() {
    const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
    for (const auto& name : names) make_keys(name, true);
    for (int i = 0; i < 5; ++i) start_secure(names[i], i, i ? names[i - 1] : "", i - 1);
    for (const auto& name : names)
      // Generous: under 5 % loss on a loaded 2-core CI machine a join can take several rounds.
      ASSERT_TRUE(wait_until([&] { return alive_count(name) == 4; }, 20s)) << name << " did not see 4 live peers";
  }
  size_t alive_count(const std::string& observer) {
    size_t alive = 0;
    for (const auto& [id, state] : peer_states(observer)) alive += state == "alive";
    return alive;
  }

  std::string root_;
  int base_port_ = 0;
  // Protocol timers given to nodes started from now on.
  double interval_s_ = kInterval, suspect_s_ = kSuspect, dead_s_ = kDead, purge_s_ = kPurge;
  std::string log_level_ = "error";  // gossip_node's --log-level for nodes started from now on
  std::vector<std::string> extra_args_;  // appended to every gossip_node command line, e.g. {"--fanout", "1"}
  std::vector<std::string> command_prefix_;  // e.g. {"ip", "netns", "exec", "<ns>"}
  std::map<std::string, std::string> keys_;
  std::map<std::string, std::unique_ptr<ChildProcess>> nodes_;
};

}  // namespace cluster_detail

using cluster_detail::Cluster;
using cluster_detail::kDead;
using cluster_detail::kInterval;
using cluster_detail::kPurge;
using cluster_detail::kSuspect;

}  // namespace antiphase::gossip::testing
