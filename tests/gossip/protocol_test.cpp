#include <gtest/gtest.h>

#include "common/gossip/republish_gate.h"
#include "tests/gossip/sim_network.h"

using namespace antiphase::gossip;
using antiphase::gossip::sim::SimNetwork;

namespace {

ProtocolConfig fast_config() {
  ProtocolConfig config;
  config.suspect_after_s = 3;
  config.dead_after_s = 6;
  config.purge_after_s = 20;
  return config;
}

// n nodes that all know node 0 as their seed.
SimNetwork star_joined(size_t n, ProtocolConfig config = fast_config()) {
  SimNetwork net(config);
  net.add_node({});
  for (size_t i = 1; i < n; ++i) net.add_node({0});
  return net;
}

size_t nodes_seeing(SimNetwork& net, const std::string& function, const std::string& summary) {
  size_t count = 0;
  for (size_t i = 0; i < net.size(); ++i) count += net.node(i).function_summary(function) == summary;
  return count;
}

PeerState state_seen_by(SimNetwork& net, size_t observer, const std::string& id, double now) {
  for (const PeerView& peer : net.node(observer).peers(now))
    if (peer.node_id == id) return peer.state;
  ADD_FAILURE() << id << " unknown to " << observer;
  return PeerState::Alive;
}

bool knows(SimNetwork& net, size_t observer, const std::string& id, double now) {
  for (const PeerView& peer : net.node(observer).peers(now))
    if (peer.node_id == id) return true;
  return false;
}

}  // namespace

TEST(GossipProtocol, ThirtyNodesJoinThroughOneSeedAndConvergeQuickly) {
  SimNetwork net = star_joined(30);
  net.set_roundtrip_wire(true);
  double now = 0;
  for (int r = 0; r < 8; ++r) net.round(now += 1);
  for (size_t i = 0; i < net.size(); ++i) EXPECT_EQ(net.node(i).peers(now).size(), 29u) << "node " << i;
  EXPECT_EQ(net.undecodable_, 0u);

  net.node(17).publish_function("thumbnailer", "shape-v1", now);
  int rounds = 0;
  while (nodes_seeing(net, "thumbnailer", "shape-v1") < net.size() && rounds < 20) {
    net.round(now += 1);
    ++rounds;
  }
  EXPECT_EQ(nodes_seeing(net, "thumbnailer", "shape-v1"), 30u);
  EXPECT_LE(rounds, 6) << "log(30) rounds expected with fanout 3";
}

TEST(GossipProtocol, NodeStateTravelsWithCapacityAndHostSummary) {
  SimNetwork net = star_joined(5);
  double now = 0;
  net.node(3).set_node_state({48.0, "host-shape"}, now);
  for (int r = 0; r < 6; ++r) net.round(now += 1);
  for (const PeerView& peer : net.node(1).peers(now))
    if (peer.node_id == "n3") {
      EXPECT_DOUBLE_EQ(peer.capacity_cores, 48.0);
      EXPECT_EQ(peer.host_summary, "host-shape");
      EXPECT_EQ(peer.endpoint, "sim://3");
    }
}

TEST(GossipProtocol, LastWriterWinsPerFunctionAcrossOrigins) {
  SimNetwork net = star_joined(6);
  double now = 0;
  for (int r = 0; r < 5; ++r) net.round(now += 1);
  net.node(1).publish_function("api", "from-1", now);
  for (int r = 0; r < 5; ++r) net.round(now += 1);
  // Node 4 has seen node 1's write, so its write is later in Lamport order and wins.
  net.node(4).publish_function("api", "from-4", now);
  for (int r = 0; r < 5; ++r) net.round(now += 1);
  EXPECT_EQ(nodes_seeing(net, "api", "from-4"), 6u);
  // One entry per function, whoever wrote it: the table does not grow per host.
  for (size_t i = 0; i < net.size(); ++i) EXPECT_EQ(net.node(i).state().function_count(), 1u);

  // Concurrent writes (equal Lamport stamps) resolve the same way everywhere.
  net.node(2).publish_function("cron", "from-2", now);
  net.node(5).publish_function("cron", "from-5", now);
  for (int r = 0; r < 6; ++r) net.round(now += 1);
  const size_t two = nodes_seeing(net, "cron", "from-2"), five = nodes_seeing(net, "cron", "from-5");
  EXPECT_TRUE((two == 6 && five == 0) || (two == 0 && five == 6)) << two << " vs " << five;
}

TEST(GossipProtocol, RestartedNodeWithHigherGenerationReplacesOldState) {
  SimNetwork net = star_joined(5);
  double now = 0;
  net.node(2).publish_function("old-fn", "v-old", now);
  for (int r = 0; r < 30; ++r) net.round(now += 1);  // node 2's version climbs to ~32
  const uint64_t old_version = net.node(2).state().self().max_version;
  ASSERT_GT(old_version, 25u);

  net.restart(2, /*generation=*/2, {0});
  net.node(2).set_node_state({8.0, "fresh"}, now);
  for (int r = 0; r < 6; ++r) net.round(now += 1);
  for (size_t i : {0, 1, 3, 4}) {
    for (const PeerView& peer : net.node(i).peers(now))
      if (peer.node_id == "n2") {
        EXPECT_EQ(peer.generation, 2u);
        EXPECT_LT(peer.max_version, old_version);  // lower version, but the newer generation wins
        EXPECT_EQ(peer.host_summary, "fresh");
        EXPECT_EQ(peer.state, PeerState::Alive);
      }
    EXPECT_FALSE(net.node(i).function_summary("old-fn")) << "old incarnation's writes are void";
  }
}

TEST(GossipProtocol, StaleGenerationDeltaIsIgnored) {
  ReplicatedState state("a", 1, ProtocolConfig{});
  antiphase::wire::OriginDelta newer;
  newer.set_origin("b");
  newer.set_generation(5);
  newer.set_max_version(3);
  newer.mutable_node()->set_version(1);
  newer.mutable_node()->set_endpoint("sim://new");
  state.apply(newer, 1);
  antiphase::wire::OriginDelta older = newer;
  older.set_generation(4);
  older.set_max_version(900);
  older.mutable_node()->set_endpoint("sim://old");
  state.apply(older, 2);
  const OriginState& b = state.origins().at("b");
  EXPECT_EQ(b.node.endpoint(), "sim://new");
  EXPECT_EQ(b.max_version, 3u);
  EXPECT_EQ(b.generation, 5u);
}

TEST(GossipProtocol, SilentNodeGoesSuspectThenDeadThenIsPurgedAndStaysPurged) {
  SimNetwork net = star_joined(6);
  double now = 0;
  for (int r = 0; r < 6; ++r) net.round(now += 1);
  net.set_up(5, false);
  const double killed_at = now;
  // Gossip carries node 5's last heartbeat for up to a couple of rounds after it died.
  net.round(now += 1);
  net.round(now += 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(state_seen_by(net, i, "n5", now), PeerState::Alive);
  while (now < killed_at + 5) net.round(now += 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(state_seen_by(net, i, "n5", now), PeerState::Suspect);
  // dead_after (6 s) counts from when each node last heard the heartbeat, which gossip
  // may have delivered up to ~2 rounds after the kill.
  while (now < killed_at + 9) net.round(now += 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(state_seen_by(net, i, "n5", now), PeerState::Dead);
  // Healthy nodes are never suspected meanwhile.
  for (const PeerView& peer : net.node(0).peers(now)) {
    if (peer.node_id != "n5") {
      EXPECT_EQ(peer.state, PeerState::Alive) << peer.node_id;
    }
  }
  while (now < killed_at + 20 + 3) net.round(now += 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(knows(net, i, "n5", now)) << "purged everywhere";
  for (int r = 0; r < 10; ++r) net.round(now += 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(knows(net, i, "n5", now)) << "not resurrected by lagging peers";
}

TEST(GossipProtocol, GracefulLeaveIsSeenAsLeft) {
  SimNetwork net = star_joined(5);
  double now = 0;
  for (int r = 0; r < 6; ++r) net.round(now += 1);
  net.send(3, net.node(3).leave(now), now);
  net.set_up(3, false);
  for (int r = 0; r < 4; ++r) net.round(now += 1);
  for (size_t i : {0, 1, 2, 4}) EXPECT_EQ(state_seen_by(net, i, "n3", now), PeerState::Left);
}

TEST(GossipProtocol, FunctionCapEvictsOldestFirst) {
  ProtocolConfig config = fast_config();
  config.max_functions = 5;
  SimNetwork net = star_joined(3, config);
  double now = 0;
  for (int f = 0; f < 8; ++f) net.node(1).publish_function("fn" + std::to_string(f), "s", now += 0.1);
  EXPECT_EQ(net.node(1).state().function_count(), 5u);
  EXPECT_FALSE(net.node(1).function_summary("fn0"));
  EXPECT_FALSE(net.node(1).function_summary("fn2"));
  EXPECT_TRUE(net.node(1).function_summary("fn3"));
  EXPECT_TRUE(net.node(1).function_summary("fn7"));
  for (int r = 0; r < 6; ++r) net.round(now += 1);
  EXPECT_EQ(net.node(2).state().function_count(), 5u);
  EXPECT_EQ(net.node(2).state().counters().functions_evicted, 0u) << "evicted entries are not shipped";
}

TEST(GossipProtocol, PeerCapBoundsMembership) {
  ProtocolConfig config = fast_config();
  config.max_peers = 6;  // self included
  SimNetwork net = star_joined(15, config);
  double now = 0;
  for (int r = 0; r < 10; ++r) net.round(now += 1);
  for (size_t i = 0; i < net.size(); ++i) EXPECT_LE(net.node(i).state().origins().size(), 6u);
  EXPECT_GT(net.node(0).state().counters().peers_evicted, 0u);
}

TEST(GossipProtocol, OversizedSummariesAreRefused) {
  ProtocolConfig config;
  config.max_summary_bytes = 256;
  Protocol node(config, Identity{"a", "sim://0", "", 1}, {}, 1);
  EXPECT_FALSE(node.publish_function("big", std::string(257, 'x'), 0));
  EXPECT_FALSE(node.publish_function("", "x", 0));
  EXPECT_TRUE(node.publish_function("ok", std::string(256, 'x'), 0));
}

TEST(GossipProtocol, LargeStateCrossesInBoundedMessages) {
  ProtocolConfig config = fast_config();
  config.max_message_bytes = 8 * 1024;
  SimNetwork net = star_joined(4, config);
  double now = 0;
  for (int f = 0; f < 300; ++f) net.node(1).publish_function("fn" + std::to_string(f), std::string(200, 'q'), now);
  for (int r = 0; r < 40 && net.node(3).state().function_count() < 300; ++r) net.round(now += 1);
  EXPECT_EQ(net.node(3).state().function_count(), 300u);
  EXPECT_LE(net.largest_message(), 8u * 1024);
}

TEST(GossipProtocol, MessagesWithoutSenderAreIgnored) {
  Protocol node(ProtocolConfig{}, Identity{"a", "sim://0", "", 1}, {}, 1);
  antiphase::wire::Gossip anonymous;
  anonymous.mutable_digest()->add_origins(42);
  EXPECT_TRUE(node.handle(antiphase::wire::MessageType::Syn, anonymous, 1).empty());
  EXPECT_EQ(node.counters().messages_ignored, 1u);
}

TEST(GossipProtocol, SurvivesFivePercentLossWithoutFalseDeaths) {
  SimNetwork net = star_joined(40);
  net.set_loss(0.05);
  double now = 0;
  for (int r = 0; r < 10; ++r) net.round(now += 1);
  net.node(7).publish_function("lossy", "x", now);
  for (int r = 0; r < 20; ++r) net.round(now += 1);
  EXPECT_EQ(nodes_seeing(net, "lossy", "x"), 40u);
  for (size_t i = 0; i < net.size(); ++i)
    for (const PeerView& peer : net.node(i).peers(now)) EXPECT_EQ(peer.state, PeerState::Alive);
}

TEST(GossipProtocol, DigestWithUnequalArraysIsIgnored) {
  Protocol node(ProtocolConfig{}, Identity{"a", "sim://0", "", 1}, {}, 1);
  antiphase::wire::Gossip syn;
  syn.mutable_from()->set_node_id("b");
  syn.mutable_from()->set_endpoint("sim://1");
  syn.mutable_digest()->add_origins(fingerprint("a"));
  syn.mutable_digest()->add_generations(1);  // max_versions missing
  EXPECT_TRUE(node.handle(antiphase::wire::MessageType::Syn, syn, 1).empty());
  syn.mutable_digest()->add_max_versions(0);
  const auto replies = node.handle(antiphase::wire::MessageType::Syn, syn, 1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].endpoint, "sim://1");
  EXPECT_EQ(replies[0].message.deltas_size(), 1) << "b is behind on a: a sends its stream";
}

TEST(RepublishGate, PublishesFirstTimeThenOnlySignificantChangesRateLimitedPlusRefresh) {
  RepublishGate gate(/*threshold=*/0.05, /*min_interval_s=*/30, /*refresh_s=*/600);
  EXPECT_TRUE(gate.admit("f", 0.0, 0));     // never published
  EXPECT_FALSE(gate.admit("f", 0.5, 10));   // significant but too soon
  EXPECT_FALSE(gate.admit("f", 0.01, 40));  // due, but insignificant
  EXPECT_TRUE(gate.admit("f", 0.06, 40));   // significant and >= 30 s since last
  EXPECT_FALSE(gate.admit("f", 0.06, 69));
  EXPECT_TRUE(gate.admit("f", 0.0, 640));   // refresh after 600 s even without change
  gate.forget("f");
  EXPECT_TRUE(gate.admit("f", 0.0, 641));
  EXPECT_EQ(gate.tracked(), 1u);
}

namespace {

// Rounds like SimNetwork's, but messages between the two halves are dropped while `cut`.
void round_with_cut(SimNetwork& net, size_t half, bool cut, double now) {
  std::vector<std::pair<size_t, Outgoing>> in_flight;
  for (size_t i = 0; i < net.size(); ++i)
    for (Outgoing& out : net.node(i).tick(now)) in_flight.emplace_back(i, std::move(out));
  while (!in_flight.empty()) {
    std::vector<std::pair<size_t, Outgoing>> replies;
    for (auto& [from, out] : in_flight) {
      const size_t to = std::stoul(out.endpoint.substr(6));  // "sim://<i>"
      if (cut && (from < half) != (to < half)) continue;
      for (Outgoing& answer : net.node(to).handle(out.type, out.message, now)) replies.emplace_back(to, std::move(answer));
    }
    in_flight = std::move(replies);
  }
}

bool all_see_all_alive(SimNetwork& net, double now) {
  for (size_t i = 0; i < net.size(); ++i) {
    const auto peers = net.node(i).peers(now);
    if (peers.size() != net.size() - 1) return false;
    for (const PeerView& peer : peers)
      if (peer.state != PeerState::Alive) return false;
  }
  return true;
}

// Each side knows at least `fanout` live peers, so seeds alone would never be tried again:
// healing needs the protocol to keep probing Dead peers (and, once they are purged, seeds).
void expect_partition_heals(double cut_seconds) {
  ProtocolConfig config = fast_config();  // suspect 3, dead 6, purge 20
  SimNetwork net = star_joined(10, config);
  double now = 0;
  for (int r = 0; r < 8; ++r) round_with_cut(net, 5, false, now += 1);
  ASSERT_TRUE(all_see_all_alive(net, now));
  const double cut_at = now;
  while (now < cut_at + cut_seconds) round_with_cut(net, 5, true, now += 1);
  const bool forgotten = !knows(net, 1, "n7", now);
  EXPECT_TRUE(forgotten || state_seen_by(net, 1, "n7", now) == PeerState::Dead) << "the cut must be felt";
  EXPECT_EQ(forgotten, cut_seconds > config.purge_after_s);
  net.node(8).publish_function("right-fn", "R", now);
  int rounds = 0;
  while (!(all_see_all_alive(net, now) && nodes_seeing(net, "right-fn", "R") == net.size()) && rounds < 30) {
    round_with_cut(net, 5, false, now += 1);
    ++rounds;
  }
  EXPECT_TRUE(all_see_all_alive(net, now)) << "still split " << rounds << " rounds after the heal";
  EXPECT_EQ(nodes_seeing(net, "right-fn", "R"), net.size());
  EXPECT_LE(rounds, 15);
}

}  // namespace

TEST(GossipProtocol, PartitionLongerThanDeadAfterHealsEvenWhenEachSideKnowsFanoutPeers) {
  expect_partition_heals(10);  // peers across are Dead, not yet purged
}

TEST(GossipProtocol, PartitionLongerThanPurgeAfterHealsThroughSeeds) {
  expect_partition_heals(30);  // peers across are forgotten: only seeds lead back
}
