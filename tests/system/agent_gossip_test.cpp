// Five real agents gossiping on loopback with CurveZMQ, keys made by `antiphasectl
// keygen`: a shape learned on A is used by E's admission (seeds form a chain, so it must
// hop), E ranks all five hosts for a function, an agent whose key is not allowlisted
// is refused and learns nothing, a killed agent is marked dead by the others within the
// configured timeout, and a stopped one is seen as having left. With function homes, an
// agent that keeps no copy of a shape fetches it before its first answer.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "tests/bpf/cgroup_fixture.h"
#include "tests/sanitizers.h"
#include "tests/system/agent_process.h"
#include "tests/system/free_ports.h"

using namespace antiphase::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The CPU shape comes from gossip; the memory limit is declared, as a platform's scheduler does
// (the test's hand-made cgroup has no memory controller, so no peak is learned for it).
constexpr const char* kNightly = R"({"function":"nightly","memory_bytes":134217728})";

struct NodeKeys {
  std::string public_z85;  // as keygen prints it
  std::string secret_file, public_file;
};

// `antiphasectl keygen PREFIX`, the way an operator makes a host's keypair.
NodeKeys keygen(const std::string& prefix) {
  std::string out;
  const int status = run_command(std::string(ANTIPHASECTL_PATH) + " keygen " + prefix, &out);
  EXPECT_EQ(status, 0) << out;
  const std::string marker = "public key: ";
  const auto at = out.find(marker);
  EXPECT_NE(at, std::string::npos) << out;
  return {at == std::string::npos ? "" : out.substr(at + marker.size(), 40), prefix + ".key", prefix + ".pub"};
}

// One cgroup root per host (`prefix` + name), below the cgroup2 mount.
using Roots = std::map<std::string, std::unique_ptr<ScopedCgroup>>;
Roots cgroup_roots(const std::string& mount, const std::string& prefix, const std::vector<std::string>& names) {
  Roots roots;
  for (const auto& n : names) roots[n] = std::make_unique<ScopedCgroup>(mount, unique_cgroup_name(prefix + n));
  return roots;
}

// A keypair per host from `antiphasectl keygen`, every one of them in the allowlist
// directory `dir` + "/peers", as an operator sets up a fleet.
struct Allowlist {
  AgentDirs dirs;
  std::string dir;
  std::map<std::string, NodeKeys> keys;
};
Allowlist allowlisted_keys(const std::string& tag, const std::vector<std::string>& names) {
  Allowlist a{make_agent_dirs(tag), "", {}};
  a.dir = a.dirs.dir + "/peers";
  fs::create_directories(a.dir);
  for (const auto& n : names) {
    a.keys[n] = keygen(a.dirs.dir + "/" + n);
    fs::copy_file(a.keys[n].public_file, a.dir + "/" + n + ".pub");
  }
  return a;
}

std::string gossip_toml(const std::string& node, int port, const std::string& seed, const NodeKeys& keys,
                        const std::string& allowed_dir, const std::string& root, unsigned homes = 0) {
  std::string t = "[sampler]\nmode = \"cgroup\"\ntick = \"200ms\"\n[functions]\ncgroup_roots = [\"" + root +
                  "\"]\ndepth = 1\n[admission]\ncapacity_cores = 4\n[gossip]\nenabled = true\nnode_id = \"" + node +
                  "\"\nbind = \"tcp://127.0.0.1:" + std::to_string(port) +
                  "\"\ninterval = \"200ms\"\nsuspect_after = \"1s\"\ndead_after = \"2s\"\npurge_after = \"60s\"\n"
                  "republish_min_interval = \"1s\"\nsecret_key_file = \"" + keys.secret_file +
                  "\"\npublic_key_file = \"" + keys.public_file + "\"\nallowed_keys_dir = \"" + allowed_dir + "\"\n";
  if (!seed.empty()) t += "seeds = [\"" + seed + "\"]\n";
  if (homes > 0) t += "function_homes = " + std::to_string(homes) + "\n";
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

uint64_t gossip_stat(const AgentProcess& agent, const std::string& key) {
  return agent.get_json("/v1/stats")["gossip"][key].get<uint64_t>();
}

TEST(AgentGossip, ShapesTravelPlacementSeesPeersIntrudersAreRefusedAndDeadPeersAreNoticed) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const std::string mount = cgroup2_mount();
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  Roots roots = cgroup_roots(mount, "antiphase-gs", names);
  roots["mallory"] = std::make_unique<ScopedCgroup>(mount, unique_cgroup_name("antiphase-gsm"));
  ScopedCgroup fn(roots["a"]->path(), "fn-nightly.scope");
  Burner burner(fn, BurnPattern::DutyCycled);
  auto rel = [&](const std::string& n) { return roots[n]->path().substr(mount.size() + 1); };

  // Keys: the five hosts are allowlisted everywhere, mallory is not.
  Allowlist allowlist = allowlisted_keys("gossip-keys", names);
  const AgentDirs& key_dirs = allowlist.dirs;
  const std::string& allowed = allowlist.dir;
  std::map<std::string, NodeKeys>& keys = allowlist.keys;
  keys["mallory"] = keygen(key_dirs.dir + "/mallory");

  const int base = free_port_block(6);
  auto endpoint = [&](size_t i) { return "tcp://127.0.0.1:" + std::to_string(base + i); };
  std::map<std::string, std::unique_ptr<AgentProcess>> agents;
  for (size_t i = 0; i < names.size(); ++i) {  // seeds form a chain: b->a, c->b, d->c, e->d
    const std::string seed = i ? keys[names[i - 1]].public_z85 + "@" + endpoint(i - 1) : "";
    agents[names[i]] = std::make_unique<AgentProcess>(
        make_agent_dirs("gossip-" + names[i]),
        gossip_toml("node-" + names[i], base + i, seed, keys[names[i]], allowed, rel(names[i])));
  }
  AgentProcess& a = *agents["a"];
  AgentProcess& e = *agents["e"];
  auto all_alive_at = [&](const AgentProcess& observer, const std::string& self) {
    for (const auto& n : names)
      if (n != self && peer_state(observer, "node-" + n) != "alive") return false;
    return true;
  };

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return all_alive_at(e, "e") && all_alive_at(a, "a"); }, 15000))
      << e.get_json("/v1/peers").dump(2);

  // E has never run "nightly"; with gossip it is no longer an unknown function there.
  ASSERT_TRUE(eventually([&] {
    const double age = e.get_json("/v1/host")["telemetry_age_s"].get<double>();
    return age >= 0 && age < 2;
  }, 5000)) << "E never measured its own host";
  ASSERT_TRUE(eventually([&] {
    const json d = json::parse(e.call("POST", "/v1/admit", kNightly).body);
    return d["sizing"].get<std::string>().find("gossiped summary") != std::string::npos;
  }, 10000)) << e.call("POST", "/v1/admit", kNightly).body;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("shape learned on A used by E's admission after %.1f s (interval 0.2 s, 4 hops of seeds)\n", seconds);
  const json on_e = json::parse(e.call("POST", "/v1/admit", kNightly).body);
  EXPECT_TRUE(on_e["accept"].get<bool>()) << on_e.dump(2);

  // Placement from E ranks all five hosts with the same policy.
  ASSERT_TRUE(eventually([&] {
    return json::parse(e.call("POST", "/v1/place", kNightly).body)["hosts"].size() == 5;
  }, 10000)) << e.call("POST", "/v1/place", kNightly).body;
  const json place = json::parse(e.call("POST", "/v1/place", kNightly).body);
  for (const auto& h : place["hosts"]) EXPECT_TRUE(h["decision"]["accept"].get<bool>()) << h.dump(2);
  // Each agent caught up with the others' records before it published any summary of its own.
  for (const auto& n : names) EXPECT_TRUE(agents[n]->get_json("/v1/stats")["gossip"]["caught_up"].get<bool>()) << n;
  // Over loopback nothing is lost, so no record was pulled in vain (under TSan an agent
  // can be too slow to answer three pulls a retry interval apart; a few are allowed there).
  for (const auto& n : names)
    EXPECT_LE(gossip_stat(*agents[n], "pulls_given_up"), antiphase::testing::kThreadSanitizer ? 5u : 0u) << n;

  // Mallory has a valid keypair and knows A's key and address, but is not allowlisted.
  const uint64_t refused_before = gossip_stat(a, "refused_auth");
  AgentProcess mallory(make_agent_dirs("gossip-mallory"),
                       gossip_toml("node-mallory", base + 5, keys["a"].public_z85 + "@" + endpoint(0), keys["mallory"],
                                   allowed, rel("mallory")));
  EXPECT_TRUE(eventually([&] { return gossip_stat(a, "refused_auth") > refused_before; }, 5000))
      << a.get_json("/v1/stats")["gossip"].dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // five more rounds to leak anything
  EXPECT_EQ(peer_state(a, "node-mallory"), "");
  EXPECT_EQ(mallory.get_json("/v1/peers")["peers"].size(), 0u) << mallory.get_json("/v1/peers").dump(2);
  const json m_place = json::parse(mallory.call("POST", "/v1/place", kNightly).body);
  EXPECT_LE(m_place["hosts"].size(), 1u) << "mallory learned other hosts: " << m_place.dump(2);
  EXPECT_FALSE(mallory.get_json("/v1/stats")["gossip"]["caught_up"].get<bool>()) << "nobody answered its comparisons";
  std::printf("intruder refused %llu times by A in ~1 s\n",
              static_cast<unsigned long long>(gossip_stat(a, "refused_auth") - refused_before));

  // SIGKILL C: every other agent must call it dead within dead_after (2 s) plus a few rounds.
  ::kill(agents["c"]->pid(), SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] {
    for (const auto& n : {"a", "b", "d", "e"})
      if (peer_state(*agents[n], "node-c") != "dead") return false;
    return true;
  }, 6000)) << a.get_json("/v1/peers").dump(2);
  std::printf("killed agent marked dead by all four peers after %.1f s (dead_after 2 s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  for (const auto& n : {"b", "d", "e"}) EXPECT_EQ(peer_state(a, std::string("node-") + n), "alive");

  const json stats = a.get_json("/v1/stats")["gossip"];
  EXPECT_GT(stats["msgs_in"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["dropped_malformed"].get<uint64_t>(), 0u);
  const auto metrics = a.call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("antiphase_gossip_peers{state=\"dead\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("antiphase_gossip_caught_up 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("# TYPE antiphase_gossip_pulls_given_up_total counter"), std::string::npos) << metrics;
  // Graceful leave: B shuts down cleanly, A sees "left" rather than "dead".
  EXPECT_EQ(agents["b"]->terminate(), 0);
  EXPECT_TRUE(eventually([&] { return peer_state(a, "node-b") == "left"; }, 4000)) << a.get_json("/v1/peers").dump(2);
  fs::remove_all(key_dirs.dir);
}

// gossip.function_homes = 1 on four signed agents: A measures "nightly" and publishes its
// shape, which only A and the function's one home keep. An agent that keeps nothing is
// asked to admit it: the daemon fetches the shape from the home before deciding, so the
// very first answer is sized from the gossiped summary.
TEST(AgentGossip, WithFunctionHomesAColdAgentFetchesTheShapeBeforeItsFirstAnswer) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const std::string mount = cgroup2_mount();
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  Roots roots = cgroup_roots(mount, "antiphase-gh", names);
  ScopedCgroup fn(roots["a"]->path(), "fn-nightly.scope");
  Burner burner(fn, BurnPattern::DutyCycled);
  auto rel = [&](const std::string& n) { return roots[n]->path().substr(mount.size() + 1); };
  Allowlist allowlist = allowlisted_keys("gossip-homes-keys", names);
  const AgentDirs& key_dirs = allowlist.dirs;
  const std::string& allowed = allowlist.dir;
  std::map<std::string, NodeKeys>& keys = allowlist.keys;
  const int base = free_port_block(4);
  std::map<std::string, std::unique_ptr<AgentProcess>> agents;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string seed = i ? keys["a"].public_z85 + "@tcp://127.0.0.1:" + std::to_string(base) : "";
    agents[names[i]] = std::make_unique<AgentProcess>(
        make_agent_dirs("gossip-homes-" + names[i]),
        gossip_toml("node-" + names[i], base + i, seed, keys[names[i]], allowed, rel(names[i]), 1));
  }
  AgentProcess& a = *agents["a"];
  ASSERT_TRUE(eventually([&] { return a.get_json("/v1/stats")["gossip"]["peers"]["alive"].get<uint64_t>() == 3; }, 15000))
      << a.get_json("/v1/peers").dump(2);
  ASSERT_TRUE(eventually([&] { return gossip_stat(a, "summaries_published") > 0; }, 10000))
      << a.get_json("/v1/stats")["gossip"].dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the home has pulled it by now
  EXPECT_EQ(a.get_json("/v1/stats")["gossip"]["function_homes"]["homes"].get<uint64_t>(), 1u);
  AgentProcess* cold = nullptr;
  size_t keeping = 0;
  for (const auto& n : {"b", "c", "d"}) {
    const uint64_t kept = gossip_stat(*agents[n], "functions_known");
    keeping += kept;
    if (kept == 0 && !cold) cold = agents[n].get();
  }
  EXPECT_LE(keeping, 1u) << "only the function's one home keeps it besides A";
  ASSERT_NE(cold, nullptr) << "every other agent keeps the summary: homes are not in use";
  ASSERT_TRUE(eventually([&] {
    const double age = cold->get_json("/v1/host")["telemetry_age_s"].get<double>();
    return age >= 0 && age < 2;
  }, 5000));
  const json first = json::parse(cold->call("POST", "/v1/admit", kNightly).body);
  EXPECT_NE(first["sizing"].get<std::string>().find("gossiped summary"), std::string::npos) << first.dump(2);
  const json stats = cold->get_json("/v1/stats")["gossip"];
  EXPECT_EQ(stats["function_homes"]["interest_pulls"].get<uint64_t>(), 1u) << stats.dump(2);
  EXPECT_EQ(stats["functions_known"].get<uint64_t>(), 1u) << "what it was asked about, it now keeps";
  EXPECT_EQ(stats["records"]["forged"].get<uint64_t>(), 0u);
  fs::remove_all(key_dirs.dir);
}

}  // namespace
