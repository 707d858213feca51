// Real gossip_node processes over loopback TCP with CurveZMQ (the Cluster fixture is in
// cluster_fixture.h; lossy and partitioned networks are in netns_test.cpp).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <zmq.hpp>

#include "agent/gossip/curve_keys.h"
#include "agent/gossip/generation_store.h"
#include "agent/gossip/gossip_agent.h"
#include "common/gossip/message_codec.h"
#include "common/wire/codec.h"
#include "tests/gossip/child_process.h"
#include "tests/gossip/cluster_fixture.h"

using namespace std::chrono_literals;
using namespace antiphase::gossip::testing;
namespace ag = antiphase::agent::gossip;
namespace fs = std::filesystem;

TEST_F(Cluster, SummaryPublishedOnAReachesEWithinBoundedRounds) {
  ASSERT_NO_FATAL_FAILURE(start_five());
  ASSERT_EQ(node("a").ask("publish resize-image shape-v1"), "ok");
  const auto published = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return node("e").ask("get resize-image") == "summary resize-image shape-v1"; }, 5s));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - published).count();
  RecordProperty("dissemination_s", std::to_string(seconds));
  EXPECT_LE(seconds, 10 * kInterval) << "more than 10 rounds for 5 nodes";
  EXPECT_EQ(stat("a", "refused_auth"), 0u);
  EXPECT_EQ(stat("a", "dropped_malformed"), 0u);
  EXPECT_GT(stat("a", "msgs_in"), 0u);
}

TEST_F(Cluster, KilledAgentIsDeadEverywhereThenPurgedAndRestartWinsByGeneration) {
  ASSERT_NO_FATAL_FAILURE(start_five());
  const uint64_t c_generation = peer_generation("a", "c");
  ASSERT_GT(c_generation, 0u);
  node("c").kill(SIGKILL);
  node("d").kill(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  for (const std::string observer : {"a", "b", "e"})
    EXPECT_TRUE(wait_until([&] { auto s = peer_states(observer); return s["c"] == "dead" && s["d"] == "dead"; },
                           std::chrono::milliseconds(int((kDead + 1.5) * 1000))))
        << observer << " did not mark c and d dead within dead_after + 1.5 s";
  EXPECT_LE(std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count(), kDead + 1.5);
  for (const std::string observer : {"a", "b", "e"}) EXPECT_EQ(alive_count(observer), 2u) << "healthy peers stay alive";

  // c comes back with the same state dir: a higher generation, which replaces the old one.
  start_secure("c", 2, "a", 0);
  for (const std::string observer : {"a", "b", "e"}) {
    EXPECT_TRUE(wait_until([&] { return peer_states(observer)["c"] == "alive"; }, 3s)) << observer;
    EXPECT_EQ(peer_generation(observer, "c"), c_generation + 1) << observer;
  }
  // d stays down and is forgotten after purge_after.
  for (const std::string observer : {"a", "b", "c", "e"})
    EXPECT_TRUE(wait_until([&] { return !peer_states(observer).count("d"); },
                           std::chrono::milliseconds(int((kPurge + 2) * 1000))))
        << observer << " still lists d";
  EXPECT_GE(stat("a", "purged"), 1u);
}

TEST_F(Cluster, AgentWithKeyNotAllowlistedIsRefusedCountedAndLearnsNothing) {
  make_keys("a", true);
  make_keys("b", true);
  make_keys("rogue", false);
  start_secure("a", 0);
  start_secure("b", 1, "a", 0);
  ASSERT_EQ(node("a").ask("publish secret-fn shape"), "ok");
  start_secure("rogue", 2, "a", 0);
  ASSERT_TRUE(wait_until([&] { return stat("a", "refused_auth") > 0; }, 3s));
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(node("rogue").ask_until_end("peers").empty());
  EXPECT_EQ(node("rogue").ask("get secret-fn"), "missing secret-fn");
  EXPECT_FALSE(peer_states("a").count("rogue"));
  EXPECT_EQ(peer_states("a")["b"], "alive");
}

TEST_F(Cluster, GracefulQuitIsSeenAsLeft) {
  make_keys("a", true);
  make_keys("b", true);
  make_keys("c", true);
  start_secure("a", 0);
  start_secure("b", 1, "a", 0);
  start_secure("c", 2, "a", 0);
  ASSERT_TRUE(wait_until([&] { return alive_count("a") == 2 && alive_count("c") == 2; }, 5s));
  EXPECT_EQ(node("b").quit(), 0);
  EXPECT_TRUE(wait_until([&] { return peer_states("a")["b"] == "left" && peer_states("c")["b"] == "left"; }, 2s));
}

TEST_F(Cluster, MalformedAndOversizeMessagesFromRawSocketAreDroppedAndCounted) {
  // Loopback without keys (allowed on 127.0.0.1), so a raw DEALER can reach the ROUTER.
  auto args = base_args("plain", 0);
  args.push_back("--max-message-bytes");
  args.push_back("65536");
  launch("plain", args);

  zmq::context_t context;
  zmq::socket_t raw(context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(endpoint(0));
  auto send = [&](const std::string& bytes) { raw.send(zmq::buffer(bytes), zmq::send_flags::none); };
  send("hello");                                                              // too short
  send(std::string(64, '\0'));                                                // bad magic
  send(antiphase::wire::encode_header(antiphase::wire::MessageType::Ping, 4) + "\xff\xff\xff\xff");  // bad payload
  std::string bad_type = antiphase::wire::encode_header(antiphase::wire::MessageType::Ping, 0);
  bad_type[5] = 77;
  send(bad_type);                                                             // unknown type
  std::string lying = antiphase::wire::encode_header(antiphase::wire::MessageType::Ping, 100);
  send(lying);                                                                // length lies (mismatch)
  send(antiphase::wire::encode_header(antiphase::wire::MessageType::Ping, 70000) + std::string(70000, 'x'));  // oversize
  raw.send(zmq::str_buffer("part1"), zmq::send_flags::sndmore);
  raw.send(zmq::str_buffer("part2"), zmq::send_flags::none);                 // multipart
  ASSERT_TRUE(wait_until([&] { return stat("plain", "dropped_malformed") >= 6; }, 3s))
      << "dropped_malformed=" << stat("plain", "dropped_malformed");
  EXPECT_EQ(stat("plain", "dropped_oversize"), 1u);
  EXPECT_EQ(stat("plain", "msgs_in"), 0u);
  // Still healthy and answering.
  EXPECT_EQ(node("plain").ask("publish f x"), "ok");
}

TEST_F(Cluster, MessageClaimingAnotherNodesKeyIsRefused) {
  make_keys("a", true);
  make_keys("mallory", true);  // allowlisted, so the CURVE handshake succeeds
  start_secure("a", 0);
  const ag::CurveKeypair mallory = ag::load_secret_key_file(root_ + "/mallory.key_secret");

  zmq::context_t context;
  zmq::socket_t raw(context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.set(zmq::sockopt::curve_serverkey, zmq::buffer(ag::z85_decode_key(keys_["a"])));
  raw.set(zmq::sockopt::curve_publickey, zmq::buffer(mallory.public_key));
  raw.set(zmq::sockopt::curve_secretkey, zmq::buffer(mallory.secret_key));
  raw.connect(endpoint(0));
  antiphase::gossip::Message ping;
  ping.type = antiphase::wire::MessageType::Ping;
  ping.from = {"impostor", 1, endpoint(9), ag::z85_decode_key(keys_["a"])};  // not the key it authenticated with
  ping.seq = 1;
  const std::string frame = antiphase::gossip::encode(ping);
  raw.send(zmq::buffer(frame), zmq::send_flags::none);
  ASSERT_TRUE(wait_until([&] { return stat("a", "refused_identity") >= 1; }, 3s));
  EXPECT_EQ(stat("a", "msgs_in"), 0u);
  EXPECT_FALSE(peer_states("a").count("impostor"));
}

// The API the daemon uses, in-process: two agents, concurrent publishers, queries.
TEST(GossipAgentApi, TwoInProcessAgentsShareStateWhileCallersHammerTheApi) {
  const int port = ::antiphase::testing::free_port_block(2);
  ag::GossipConfig first;
  first.node_id = "one";
  first.bind = "tcp://127.0.0.1:" + std::to_string(port);
  first.interval_s = 0.1;
  first.suspect_after_s = 1;
  first.dead_after_s = 2;
  first.purge_after_s = 4;
  ag::GossipConfig second = first;
  second.node_id = "two";
  second.bind = "tcp://127.0.0.1:" + std::to_string(port + 1);
  second.seeds = {first.bind};
  ag::GossipAgent one(first), two(second);
  one.set_node_state({"", "", 24.0, "agg-one"});  // before start(): applied at start
  EXPECT_FALSE(one.publish_function("early", "x")) << "not started yet";
  one.start();
  two.start();

  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        one.publish_function("fn-" + std::to_string(t) + "-" + std::to_string(i % 20), "v" + std::to_string(i));
        (void)one.stats();
        (void)one.nodes();
      }
    });
  for (auto& thread : publishers) thread.join();
  ASSERT_TRUE(wait_until([&] { return two.function_summary("fn-3-19") == "v199"; }, 3s));
  EXPECT_EQ(two.stats().functions, 80u);
  const auto nodes = two.nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].first.node_id, "one");
  EXPECT_DOUBLE_EQ(nodes[0].first.capacity_cores, 24.0);
  EXPECT_EQ(nodes[0].first.host_summary, "agg-one");
  EXPECT_EQ(nodes[0].second.state, ag::PeerState::Alive);
  one.stop();
  EXPECT_TRUE(wait_until([&] { return two.peers().at(0).state == ag::PeerState::Left; }, 2s));
}

TEST(GossipAgentApi, WithFunctionHomesAnAgentKeepsAFewSummariesAndFetchesTheRestInARoundTrip) {
  // Five real agents over loopback ZeroMQ, each function kept by its writer and 1 home.
  const int port = ::antiphase::testing::free_port_block(5);
  std::vector<std::unique_ptr<ag::GossipAgent>> agents;
  for (int i = 0; i < 5; ++i) {
    ag::GossipConfig c;
    c.node_id = "h" + std::to_string(i);
    c.bind = "tcp://127.0.0.1:" + std::to_string(port + i);
    if (i > 0) c.seeds = {"tcp://127.0.0.1:" + std::to_string(port)};
    c.interval_s = 0.1;
    c.suspect_after_s = 1;
    c.dead_after_s = 2;
    c.purge_after_s = 4;
    c.function_homes = 1;
    agents.push_back(std::make_unique<ag::GossipAgent>(c));
    agents.back()->start();
  }
  ASSERT_TRUE(wait_until([&] {
    for (const auto& a : agents)
      if (a->stats().peers_alive != 4) return false;
    return true;
  }, 5s));
  for (int f = 0; f < 40; ++f) ASSERT_TRUE(agents[0]->publish_function("fn" + std::to_string(f), "v"));
  // Each summary reaches its one home (the writer keeps its own): 40 + about 32 copies
  // (the home is the writer itself for ~1 in 5), not 200.
  auto held = [&] {
    uint64_t total = 0;
    for (const auto& a : agents) total += a->stats().functions;
    return total;
  };
  EXPECT_TRUE(wait_until([&] { return held() >= 40 + 20; }, 3s)) << held();
  EXPECT_LE(held(), 80u);
  ag::GossipAgent& asker = *agents[3];
  const uint64_t kept_before = asker.stats().functions;
  EXPECT_LT(kept_before, 30u);
  std::vector<double> waits;
  for (int f = 0; f < 40; ++f) {
    const std::string name = "fn" + std::to_string(f);
    if (asker.function_summary(name)) continue;
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(asker.fetch_function(name, 1s), "v") << name;
    waits.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked).count());
  }
  ASSERT_GE(waits.size(), 10u);
  std::sort(waits.begin(), waits.end());
  RecordProperty("cold_fetch_median_ms", std::to_string(waits[waits.size() / 2]));
  EXPECT_LE(waits[waits.size() / 2], 50.0) << "the daemon waits 50 ms for a cold fetch";
  EXPECT_EQ(asker.stats().interest_pulls, waits.size());
  EXPECT_EQ(asker.stats().functions, kept_before + waits.size()) << "what it asked about, it now keeps";
  // Functions nobody published: nothing comes, after the wait (unless the asker is the
  // function's one home itself: then nobody has it and nothing is asked). Asked again at
  // once: no second pull, no second wait (a miss is retried after 5 s).
  size_t waited = 0;
  for (int f = 0; f < 5; ++f) {
    const std::string name = "nobody-runs-" + std::to_string(f);
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_FALSE(asker.fetch_function(name, 100ms));
    waited += std::chrono::steady_clock::now() - asked >= 100ms;
    const auto again = std::chrono::steady_clock::now();
    EXPECT_FALSE(asker.fetch_function(name, 100ms));
    EXPECT_LT(std::chrono::steady_clock::now() - again, 50ms) << name;
  }
  EXPECT_GE(waited, 2u) << "about 4 in 5 of these have a home other than the asker";
  for (auto& a : agents) a->stop();
}

TEST(GossipAgentConfig, RefusesNonLoopbackWithoutKeysUnlessInsecure) {
  ag::GossipConfig config;
  config.bind = "tcp://10.1.2.3:7946";
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError);
  config.bind = "tcp://127.0.0.1:7946";
  config.seeds = {"tcp://192.168.1.1:7946"};
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError);
  config.insecure = true;
  EXPECT_NO_THROW(ag::GossipAgent{config});
  config = {};
  config.bind = "tcp://0.0.0.0:7946";
  config.insecure = true;
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError) << "wildcard bind needs advertise";
  config = {};
  config.seeds = {"udp://nope"};
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError);
  config = {};
  config.suspect_after_s = 10;
  config.dead_after_s = 5;
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError);
}

TEST(GossipAgentConfig, SecretKeyFileMustBePrivateAndSeedsNeedKeys) {
  char pattern[] = "/tmp/antiphase-gossip-keys-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  fs::create_directories(dir + "/allowed");
  const auto keys = ag::generate_keypair_files(dir + "/n.key", dir + "/n.key_secret");
  EXPECT_EQ(fs::status(dir + "/n.key_secret").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(ag::load_public_key_file(dir + "/n.key"), keys.public_key);
  EXPECT_EQ(ag::load_secret_key_file(dir + "/n.key_secret").secret_key, keys.secret_key);
  EXPECT_THROW(ag::generate_keypair_files(dir + "/n.key", dir + "/n.key_secret"), ag::KeyError) << "no overwrite";

  ag::GossipConfig config;
  config.secret_key_file = dir + "/n.key_secret";
  config.allowed_keys_dir = dir + "/allowed";
  config.bind = "tcp://10.0.0.1:7946";  // fine with keys
  EXPECT_NO_THROW(ag::GossipAgent{config});
  config.seeds = {"tcp://10.0.0.2:7946"};
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError) << "secure seed without its key";
  config.seeds = {ag::z85_encode_key(keys.public_key) + "@tcp://10.0.0.2:7946"};
  EXPECT_NO_THROW(ag::GossipAgent{config});

  ::chmod((dir + "/n.key_secret").c_str(), 0644);
  EXPECT_THROW(ag::GossipAgent{config}, ag::GossipConfigError);
  // Plain one-line key files are accepted in the allowlist; garbage is a clear error.
  {
    std::ofstream(dir + "/allowed/plain.key") << ag::z85_encode_key(keys.public_key) << "\n";
  }
  EXPECT_EQ(ag::load_allowlist_dir(dir + "/allowed").size(), 1u);
  { std::ofstream(dir + "/allowed/broken.key") << "not a key\n"; }
  EXPECT_THROW(ag::load_allowlist_dir(dir + "/allowed"), ag::KeyError);
  fs::remove_all(dir);
}

TEST(GossipAgentConfig, GenerationIsPersistedAndBumped) {
  char pattern[] = "/tmp/antiphase-gossip-gen-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  EXPECT_EQ(ag::bump_generation(dir), 1u);
  EXPECT_EQ(ag::bump_generation(dir), 2u);
  { std::ofstream(dir + "/gossip.generation") << "garbage"; }
  EXPECT_GT(ag::bump_generation(dir), 1700000000u) << "corrupt file falls back to unix time";
  EXPECT_FALSE(fs::exists(dir + "/gossip.generation.tmp"));
  fs::remove_all(dir);
}

// Issue 19, bug 7: b once refused a's key (a was out of b's allowlist), then allows it
// again. a must reach b again without being restarted itself.
TEST_F(Cluster, PeerThatRefusedOurKeyOnceIsReachedAgainOnceItAllowsIt) {
  make_keys("a", true);
  make_keys("b", true);
  const std::string without_a = root_ + "/allowed-without-a";
  fs::create_directories(without_a);
  fs::copy_file(root_ + "/allowed/b.key", without_a + "/b.key");
  start_secure("a", 0);
  start_secure("b", 1, "a", 0);
  ASSERT_TRUE(wait_until([&] { return alive_count("a") == 1 && alive_count("b") == 1; }, 5s));

  EXPECT_EQ(node("b").quit(), 0);
  start_secure("b", 1, "a", 0, without_a);  // b talks to a, but refuses a's connections
  ASSERT_TRUE(wait_until([&] { return stat("b", "refused_auth") > 0; }, 5s)) << "a never tried to reach b";
  std::this_thread::sleep_for(std::chrono::milliseconds(int(kPurge * 1000)));  // long enough for a to give b up

  EXPECT_EQ(node("b").quit(), 0);
  start_secure("b", 1, "a", 0);  // a allowed again
  const auto restarted = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] { return alive_count("a") == 1 && alive_count("b") == 1; }, 10s))
      << "a sees " << alive_count("a") << " live peers, b sees " << alive_count("b") << "; a sent "
      << stat("a", "msgs_out") << " messages\n" << node("a").ask("stats") << "\n" << node("b").ask("stats");
  RecordProperty("heal_after_refusal_s",
                 std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count()));
}

// Issue 19, bug 8: two hosts with the same node id (a cloned host name) cannot gossip
// with each other; each must notice, count it and say so in its log.
TEST_F(Cluster, DuplicateNodeIdIsDetectedCountedAndLogged) {
  make_keys("twin1", true);
  make_keys("twin2", true);
  log_level_ = "warn";
  auto start_twin = [&](const std::string& key_name, int index, int seed_index) {
    auto args = base_args("twin", index);
    args.insert(args.end(), {"--secret-key", root_ + "/" + key_name + ".key_secret", "--allowed-keys", root_ + "/allowed"});
    if (seed_index >= 0) args.insert(args.end(), {"--seed", keys_.at("twin1") + "@" + endpoint(seed_index)});
    launch(key_name, args);
  };
  start_twin("twin1", 0, -1);
  start_twin("twin2", 1, 0);
  for (const std::string name : {"twin1", "twin2"}) {
    EXPECT_TRUE(wait_until([&] { return node(name).stat("duplicate_node_id").value_or(0) > 0; }, 5s))
        << name << " did not count the duplicate node id";
    EXPECT_GT(stat(name, "refused_identity"), 0u) << name;
    EXPECT_NE(log_of(name).find("duplicate node_id"), std::string::npos) << name << " log:\n" << log_of(name);
  }
  // Telling each other must not turn into a message storm.
  const uint64_t sent_before = stat("twin1", "msgs_out");
  std::this_thread::sleep_for(2s);
  EXPECT_LE(stat("twin1", "msgs_out") - sent_before, 2 / kInterval * 4) << "more than 4 messages a round";
}
