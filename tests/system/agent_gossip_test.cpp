// Three real agents gossiping on loopback: a shape learned on A is used by B's
// admission, B can rank all three hosts for a function, and a killed agent is marked
// dead by the others within the configured timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/bpf/cgroup_fixture.h"
#include "tests/system/agent_process.h"
#include "tests/system/free_ports.h"

using namespace antiphase::testing;
using nlohmann::json;

namespace {

std::string gossip_toml(const std::string& node, int port, int seed_port, const std::string& root) {
  std::string t = "[sampler]\nmode = \"cgroup\"\ntick = \"200ms\"\n[functions]\ncgroup_roots = [\"" + root +
                  "\"]\ndepth = 1\n[admission]\ncapacity_cores = 4\n[gossip]\nenabled = true\nnode_id = \"" + node +
                  "\"\nbind = \"tcp://127.0.0.1:" + std::to_string(port) +
                  "\"\ninterval = \"200ms\"\nsuspect_after = \"1s\"\ndead_after = \"2s\"\npurge_after = \"60s\"\n"
                  "republish_min_interval = \"1s\"\n";
  if (seed_port) t += "seeds = [\"tcp://127.0.0.1:" + std::to_string(seed_port) + "\"]\n";
  return t;
}

template <typename Pred>
bool eventually(Pred pred, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

std::string peer_state(const AgentProcess& agent, const std::string& node) {
  const json peers = agent.get_json("/v1/peers");
  for (const auto& p : peers["peers"])
    if (p["node_id"].get<std::string>() == node) return p["state"].get<std::string>();
  return "";
}

TEST(AgentGossip, ShapesTravelPlacementSeesPeersAndDeadPeersAreNoticed) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const std::string mount = cgroup2_mount();
  ScopedCgroup root_a(mount, unique_cgroup_name("antiphase-gsa"));
  ScopedCgroup root_b(mount, unique_cgroup_name("antiphase-gsb"));
  ScopedCgroup root_c(mount, unique_cgroup_name("antiphase-gsc"));
  ScopedCgroup fn(root_a.path(), "fn-nightly.scope");
  Burner burner(fn, BurnPattern::DutyCycled);
  const int base = ::antiphase::testing::free_port_block(3);
  auto rel = [&](const ScopedCgroup& c) { return c.path().substr(mount.size() + 1); };

  AgentProcess a(make_agent_dirs("gossip-a"), gossip_toml("node-a", base, 0, rel(root_a)));
  AgentProcess b(make_agent_dirs("gossip-b"), gossip_toml("node-b", base + 1, base, rel(root_b)));
  auto c = std::make_unique<AgentProcess>(make_agent_dirs("gossip-c"), gossip_toml("node-c", base + 2, base, rel(root_c)));

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return peer_state(b, "node-a") == "alive" && peer_state(b, "node-c") == "alive"; }, 10000))
      << b.get_json("/v1/peers").dump(2);

  // B has never run "nightly"; with gossip it is no longer an unknown function there.
  ASSERT_TRUE(eventually([&] {
    const double age = b.get_json("/v1/host")["telemetry_age_s"].get<double>();
    return age >= 0 && age < 2;
  }, 5000)) << "B never measured its own host";
  ASSERT_TRUE(eventually([&] {
    const json d = json::parse(b.call("POST", "/v1/admit", R"({"function":"nightly"})").body);
    return d["reasons"].dump().find("unknown") == std::string::npos;
  }, 10000)) << b.call("POST", "/v1/admit", R"({"function":"nightly"})").body;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("shape learned on A used by B's admission after %.1f s (interval 0.2 s)\n", seconds);
  const json on_b = json::parse(b.call("POST", "/v1/admit", R"({"function":"nightly"})").body);
  EXPECT_TRUE(on_b["accept"].get<bool>()) << on_b.dump(2);

  // Placement from B ranks all three hosts with the same policy.
  ASSERT_TRUE(eventually([&] {
    return json::parse(b.call("POST", "/v1/place", R"({"function":"nightly"})").body)["hosts"].size() == 3;
  }, 10000)) << b.call("POST", "/v1/place", R"({"function":"nightly"})").body;
  const json place = json::parse(b.call("POST", "/v1/place", R"({"function":"nightly"})").body);
  for (const auto& h : place["hosts"]) EXPECT_TRUE(h["decision"]["accept"].get<bool>()) << h.dump(2);

  // SIGKILL C: A and B must call it dead within dead_after (2 s) plus a few rounds.
  ::kill(c->pid(), SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return peer_state(a, "node-c") == "dead" && peer_state(b, "node-c") == "dead"; }, 6000))
      << a.get_json("/v1/peers").dump(2);
  std::printf("killed agent marked dead by both peers after %.1f s (dead_after 2 s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  EXPECT_EQ(peer_state(a, "node-b"), "alive");  // nobody healthy was declared dead

  const json stats = a.get_json("/v1/stats")["gossip"];
  EXPECT_GT(stats["msgs_in"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["dropped_malformed"].get<uint64_t>(), 0u);
  const auto metrics = a.call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("antiphase_gossip_peers{state=\"dead\"} 1"), std::string::npos) << metrics;
  // Graceful leave: B shuts down cleanly, A sees "left" rather than "dead".
  EXPECT_EQ(b.terminate(), 0);
  EXPECT_TRUE(eventually([&] { return peer_state(a, "node-b") == "left"; }, 4000)) << a.get_json("/v1/peers").dump(2);
}

}  // namespace
