// The sans-IO protocol core over the in-memory network (sim_network.h): convergence,
// dissemination, failure detection, repair, tombstones, partitions, caps, signatures.
// Synchronous rounds of one news interval (0.2 s) unless a test says otherwise.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <unordered_map>

#include "common/gossip/flat_table.h"
#include "common/gossip/message_codec.h"
#include "common/gossip/republish_gate.h"
#include "tests/gossip/sim_network.h"

using namespace antiphase::gossip;
using antiphase::gossip::sim::SimNetwork;
using antiphase::gossip::sim::SimOptions;

namespace {

constexpr double kRound = 0.2;

ProtocolConfig fast_config() {
  ProtocolConfig config;
  config.probe_interval_s = 1;
  config.probe_timeout_s = 0.5;
  config.news_interval_s = kRound;
  config.anti_entropy_interval_s = 5;
  config.anti_entropy_settle_s = 2;
  config.pull_retry_s = 2 * kRound;
  config.suspect_after_s = 2;
  config.dead_after_s = 6;
  config.purge_after_s = 20;
  return config;
}

// n nodes that all know node 0 as their seed.
SimNetwork star_joined(size_t n, ProtocolConfig config = fast_config(), SimOptions options = {}) {
  SimNetwork net(config, options);
  net.add_node({});
  for (size_t i = 1; i < n; ++i) net.add_node({0});
  return net;
}

void run_for(SimNetwork& net, double& now, double seconds) {
  const double until = now + seconds;
  while (now + 1e-9 < until) net.round(now += kRound);
}

size_t nodes_seeing(SimNetwork& net, const std::string& function, const std::string& summary) {
  size_t count = 0;
  for (size_t i = 0; i < net.size(); ++i) count += net.is_up(i) && net.node(i).function_summary(function) == summary;
  return count;
}

std::optional<PeerState> state_seen_by(SimNetwork& net, size_t observer, size_t member, double now) {
  const auto view = net.node(observer).peer(sim::id_of(member), now);
  if (!view) return std::nullopt;
  return view->state;
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

// Counts every liveness change that makes a member Dead, by (observer, member).
struct DeathLog {
  std::vector<std::pair<size_t, size_t>> deaths;
  std::vector<std::pair<size_t, size_t>> suspicions;
  void attach(SimNetwork& net) {
    net.on_state_change([this](size_t observer, size_t member, PeerState, PeerState after, double) {
      if (after == PeerState::Dead) deaths.emplace_back(observer, member);
      if (after == PeerState::Suspect) suspicions.emplace_back(observer, member);
    });
  }
  size_t deaths_of(size_t member) const {
    return std::count_if(deaths.begin(), deaths.end(), [&](auto& d) { return d.second == member; });
  }
};

}  // namespace

TEST(GossipProtocol, ThirtyNodesJoinThroughOneSeedAndConvergeQuickly) {
  SimNetwork net = star_joined(30);
  net.set_roundtrip_wire(true);
  double now = 0;
  run_for(net, now, 8);
  ASSERT_TRUE(all_see_all_alive(net, now));
  EXPECT_EQ(net.undecodable(), 0u);

  net.node(17).publish_function("thumbnailer", "shape-v1", now);
  int rounds = 0;
  while (nodes_seeing(net, "thumbnailer", "shape-v1") < 29 && rounds < 50) {
    net.round(now += kRound);
    ++rounds;
  }
  EXPECT_LE(rounds, 6) << "a rumour pushed to 3 members a round reaches 29 of 30 in ~log4(30) + tail rounds";
  // The last one or two may be missed by every rumour (odds ~n e^-L); anti-entropy finds them.
  const ProtocolConfig config = fast_config();
  run_for(net, now, config.anti_entropy_interval_s + 2 * config.probe_interval_s + 1);
  EXPECT_EQ(nodes_seeing(net, "thumbnailer", "shape-v1"), 30u);
}

TEST(GossipProtocol, NodeStateTravelsWithCapacityAndHostSummary) {
  SimNetwork net = star_joined(5);
  double now = 0;
  run_for(net, now, 3);
  net.node(3).set_node_state({48.0, "host-shape"}, now);
  run_for(net, now, 2);
  const auto view = net.node(1).peer("n3", now);
  ASSERT_TRUE(view);
  EXPECT_DOUBLE_EQ(view->capacity_cores, 48.0);
  EXPECT_EQ(view->host_summary, "host-shape");
  EXPECT_EQ(view->endpoint, "sim://3");
}

TEST(GossipProtocol, QuietClusterSendsOnlyProbesAndRareAntiEntropy) {
  // Traffic follows change: with nothing changing, an agent sends one PING (and answers
  // one) per probe interval, plus anti-entropy every anti_entropy_interval_s.
  SimNetwork net = star_joined(20);
  double now = 0;
  run_for(net, now, 15);  // joined, rumours of the join done
  std::vector<uint64_t> before(net.size());
  for (size_t i = 0; i < net.size(); ++i) before[i] = net.messages_sent(i);
  run_for(net, now, 20);
  for (size_t i = 0; i < net.size(); ++i) {
    const double per_s = double(net.messages_sent(i) - before[i]) / 20;
    EXPECT_LE(per_s, 3.0) << "node " << i << ": ping + ack + ~1/5 anti-entropy a second expected";
  }
}

TEST(GossipProtocol, LastWriterWinsPerFunctionAcrossOrigins) {
  SimNetwork net = star_joined(6);
  double now = 0;
  run_for(net, now, 4);
  net.node(1).publish_function("api", "from-1", now);
  run_for(net, now, 8);  // rumours, and anti-entropy for anyone they missed
  ASSERT_EQ(net.node(4).function_summary("api"), "from-1");
  // Node 4 has seen node 1's write, so its write is later in Lamport order and wins.
  net.node(4).publish_function("api", "from-4", now);
  run_for(net, now, 8);
  EXPECT_EQ(nodes_seeing(net, "api", "from-4"), 6u);
  // One entry per function, whoever wrote it: the table does not grow per host.
  for (size_t i = 0; i < net.size(); ++i) EXPECT_EQ(net.node(i).state().function_count(), 1u);
  for (size_t i = 0; i < net.size(); ++i) EXPECT_TRUE(net.node(i).state().bucket_hashes_consistent()) << i;

  // Concurrent writes (equal Lamport stamps) resolve the same way everywhere.
  net.node(2).publish_function("cron", "from-2", now);
  net.node(5).publish_function("cron", "from-5", now);
  run_for(net, now, 8);
  const size_t two = nodes_seeing(net, "cron", "from-2"), five = nodes_seeing(net, "cron", "from-5");
  EXPECT_TRUE((two == 6 && five == 0) || (two == 0 && five == 6)) << two << " vs " << five;
}

TEST(GossipProtocol, RestartedNodeWithHigherGenerationReplacesOldState) {
  SimNetwork net = star_joined(5);
  double now = 0;
  run_for(net, now, 3);
  net.node(2).publish_function("old-fn", "v-old", now);
  net.node(2).set_node_state({4, "a"}, now);
  net.node(2).set_node_state({4, "b"}, now);
  run_for(net, now, 3);
  const uint64_t old_version = net.node(1).peer("n2", now)->max_version;
  ASSERT_GE(old_version, 3u);

  net.restart(2, /*generation=*/2, {0});
  net.node(2).set_node_state({8.0, "fresh"}, net.local_time(2));
  run_for(net, now, 3);
  for (size_t i : {0, 1, 3, 4}) {
    const auto view = net.node(i).peer("n2", now);
    ASSERT_TRUE(view) << i;
    EXPECT_EQ(view->generation, 2u);
    EXPECT_LT(view->max_version, old_version) << "lower version, but the newer generation wins";
    EXPECT_EQ(view->host_summary, "fresh");
    EXPECT_EQ(view->state, PeerState::Alive);
    EXPECT_FALSE(net.node(i).function_summary("old-fn")) << "the old incarnation's writes are void";
  }
}

TEST(GossipProtocol, CrashedNodeIsSuspectedThenDeadEverywhereThenPurgedAndStaysPurged) {
  SimNetwork net = star_joined(6);
  DeathLog log;
  log.attach(net);
  double now = 0;
  run_for(net, now, 4);
  ASSERT_TRUE(all_see_all_alive(net, now));
  net.set_up(5, false);
  const double crashed_at = now;
  double all_dead_at = -1;
  while (now < crashed_at + 30) {
    net.round(now += kRound);
    size_t dead = 0;
    for (size_t i = 0; i < 5; ++i) dead += state_seen_by(net, i, 5, now) == PeerState::Dead;
    if (dead == 5 && all_dead_at < 0) all_dead_at = now;
    if (all_dead_at >= 0) break;
  }
  ASSERT_GE(all_dead_at, 0) << "never dead everywhere";
  const ProtocolConfig config = fast_config();
  // A probe must fail (<= 5 probe intervals until some node probes it) and the suspicion,
  // confirmed by the other probers, lasts suspect_after_s.
  EXPECT_GE(all_dead_at - crashed_at, config.suspect_after_s);
  EXPECT_LE(all_dead_at - crashed_at, config.dead_after_s + 3 * config.probe_interval_s);
  for (size_t m = 0; m < 5; ++m) EXPECT_EQ(log.deaths_of(m), 0u) << "healthy node " << m << " declared dead";

  while (now < all_dead_at + config.purge_after_s + 2) net.round(now += kRound);
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(state_seen_by(net, i, 5, now)) << "purged everywhere";
  run_for(net, now, 10);
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(state_seen_by(net, i, 5, now)) << "not resurrected";
  // Anti-entropy bucket hashes are kept up to date through deaths, purges and replacements.
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(net.node(i).state().bucket_hashes_consistent()) << i;
}

TEST(GossipProtocol, GracefulLeaveIsSeenAsLeft) {
  SimNetwork net = star_joined(5);
  double now = 0;
  run_for(net, now, 4);
  net.send(3, net.node(3).leave(now), now);
  net.set_up(3, false);
  run_for(net, now, 2);
  for (size_t i : {0, 1, 2, 4}) EXPECT_EQ(state_seen_by(net, i, 3, now), PeerState::Left) << i;
}

TEST(GossipProtocol, SuspectedLiveNodeRefutesAndIsNeverDeclaredDead) {
  SimNetwork net = star_joined(8);
  DeathLog log;
  log.attach(net);
  double now = 0;
  run_for(net, now, 4);
  // Node 3 hears nothing (its inbound links fail) until some probe of it fails.
  net.set_link_filter([](size_t, size_t to) { return to == 3; });
  auto suspected_3 = [&] {
    return std::count_if(log.suspicions.begin(), log.suspicions.end(), [](auto& s) { return s.second == 3; });
  };
  for (int r = 0; r < 100 && suspected_3() == 0; ++r) net.round(now += kRound);
  net.set_link_filter({});
  const double restored = now;
  run_for(net, now, fast_config().dead_after_s + 2);
  EXPECT_GT(suspected_3(), 0) << "the outage should have been noticed";
  EXPECT_EQ(log.deaths_of(3), 0u) << "a refuted suspicion must not end in a death";
  EXPECT_GE(net.node(3).counters().refutations, 1u);
  for (size_t i = 0; i < net.size(); ++i) {
    if (i == 3) continue;
    EXPECT_EQ(state_seen_by(net, i, 3, now), PeerState::Alive) << i;
  }
  EXPECT_TRUE(all_see_all_alive(net, now)) << restored;
}

TEST(GossipProtocol, IndirectProbesKeepANodeWithOneBrokenLinkAlive) {
  SimNetwork net = star_joined(6);
  DeathLog log;
  log.attach(net);
  double now = 0;
  run_for(net, now, 4);
  net.set_link_filter([](size_t from, size_t to) { return (from == 1 && to == 4) || (from == 4 && to == 1); });
  run_for(net, now, 30);
  EXPECT_TRUE(log.suspicions.empty()) << "node 1's probes of node 4 go round the broken link";
  EXPECT_TRUE(log.deaths.empty());
  EXPECT_GT(net.node(1).counters().ping_reqs_sent, 0u);
}

TEST(GossipProtocol, FunctionCapEvictsOldestFirst) {
  ProtocolConfig config = fast_config();
  config.max_functions = 64;
  SimNetwork net = star_joined(3, config);
  double now = 0;
  for (int f = 0; f < 80; ++f) net.node(1).publish_function("fn" + std::to_string(f), "s", now);
  EXPECT_LE(net.node(1).state().function_count(), 64u);
  EXPECT_FALSE(net.node(1).function_summary("fn0"));
  EXPECT_TRUE(net.node(1).function_summary("fn79"));
  run_for(net, now, 8);
  EXPECT_LE(net.node(2).state().function_count(), 64u);
  EXPECT_TRUE(net.node(2).function_summary("fn79"));
}

TEST(GossipProtocol, PeerCapBoundsMembership) {
  ProtocolConfig config = fast_config();
  config.max_peers = 6;  // self included
  SimNetwork net = star_joined(15, config);
  double now = 0;
  run_for(net, now, 10);
  for (size_t i = 0; i < net.size(); ++i) EXPECT_LE(net.node(i).state().members().size(), 6u);
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

TEST(GossipProtocol, JoiningNodeFetchesLargeStateInBoundedMessages) {
  ProtocolConfig config = fast_config();
  config.max_message_bytes = 8 * 1024;
  SimNetwork net(config);
  net.add_node({});
  net.add_node({0});
  double now = 0;
  for (int f = 0; f < 300; ++f) net.node(1).publish_function("fn" + std::to_string(f), std::string(200, 'q'), now);
  run_for(net, now, 4);
  net.add_node({0});  // joins late: everything comes through anti-entropy and pulls
  for (int r = 0; r < 100 && net.node(2).state().function_count() < 300; ++r) net.round(now += kRound);
  EXPECT_EQ(net.node(2).state().function_count(), 300u);
  EXPECT_LE(net.largest_message(), 8u * 1024);
}

TEST(GossipProtocol, MessagesWithoutSenderAreIgnored) {
  Protocol node(ProtocolConfig{}, Identity{"a", "sim://0", "", 1}, {}, 1);
  Message anonymous;
  anonymous.type = MessageType::Ping;
  EXPECT_TRUE(node.handle(anonymous, "", 1).empty());
  EXPECT_EQ(node.counters().messages_ignored, 1u);
}

TEST(GossipProtocol, FivePercentLossKillsNobodyAndStillDisseminates) {
  SimNetwork net = star_joined(40);
  DeathLog log;
  log.attach(net);
  double now = 0;
  run_for(net, now, 10);
  net.set_loss(0.05);
  net.node(7).publish_function("lossy", "x", now);
  double reached_at = -1;
  for (double t = now; now < t + 60;) {
    net.round(now += kRound);
    if (reached_at < 0 && nodes_seeing(net, "lossy", "x") == 40) reached_at = now - t;
  }
  EXPECT_GE(reached_at, 0) << "never reached all 40";
  EXPECT_LE(reached_at, 3.0);
  EXPECT_TRUE(log.deaths.empty()) << log.deaths.size() << " false deaths, first: " << log.deaths[0].first << " saw "
                                  << log.deaths[0].second;
}

TEST(GossipProtocol, AntiEntropyRepairsWhatRumoursMissed) {
  SimNetwork net = star_joined(10);
  double now = 0;
  run_for(net, now, 4);
  net.set_link_filter([](size_t, size_t to) { return to == 9; });  // node 9 hears nothing
  for (int f = 0; f < 20; ++f) net.node(1 + f % 8).publish_function("fn" + std::to_string(f), "v", now);
  run_for(net, now, 3);  // the rumours have run their course
  size_t delivered = 0;
  for (int f = 0; f < 20; ++f) delivered += nodes_seeing(net, "fn" + std::to_string(f), "v");
  EXPECT_GE(delivered, 20u * 9 - 2) << "rumours reach (almost) every node that listens";
  EXPECT_EQ(net.node(9).state().function_count(), 0u);
  net.set_link_filter({});
  const double restored = now;
  double repaired_at = -1;
  while (now < restored + 30 && repaired_at < 0) {
    net.round(now += kRound);
    if (net.node(9).state().function_count() == 20) repaired_at = now - restored;
  }
  ASSERT_GE(repaired_at, 0) << "anti-entropy never repaired node 9";
  const ProtocolConfig config = fast_config();
  // One anti-entropy interval, the settling delay, and a pull.
  EXPECT_LE(repaired_at, config.anti_entropy_interval_s + 2 * config.probe_interval_s + 2);
}

TEST(GossipProtocol, TombstonesStopALaggardFromResurrectingAPurgedMember) {
  SimNetwork net = star_joined(8);
  double now = 0;
  run_for(net, now, 4);
  net.node(4).publish_function("by-4", "x", now);
  run_for(net, now, 2);
  net.pause(1);  // node 1 keeps node 4 alive in its frozen view
  net.set_up(4, false);
  const ProtocolConfig config = fast_config();
  run_for(net, now, config.dead_after_s + 3 * config.probe_interval_s + config.purge_after_s + 1);
  for (size_t i : {0, 2, 3, 5, 6, 7}) ASSERT_FALSE(state_seen_by(net, i, 4, now)) << i << " has not purged 4";
  net.resume(1);
  ASSERT_TRUE(state_seen_by(net, 1, 4, now)) << "the laggard still holds node 4 (suspected at most)";
  ASSERT_TRUE(net.node(1).function_summary("by-4"));
  uint64_t stale_before = 0;
  for (size_t i : {0, 2, 3, 5, 6, 7}) stale_before += net.node(i).state().counters().stale;
  run_for(net, now, 2 * config.anti_entropy_interval_s);
  uint64_t stale_after = 0;
  for (size_t i : {0, 2, 3, 5, 6, 7}) {
    EXPECT_FALSE(state_seen_by(net, i, 4, now)) << i << " re-learned the purged member";
    EXPECT_FALSE(net.node(i).function_summary("by-4")) << i << " re-learned what it wrote";
    stale_after += net.node(i).state().counters().stale;
  }
  EXPECT_GT(stale_after, stale_before) << "the laggard did offer node 4's records";
}

namespace {

// Each side knows at least `fanout` live members, so only the protocol's reconnect
// probes (anti-entropy with a Dead member or a seed) talk across the cut again.
void expect_partition_heals(double cut_seconds) {
  const ProtocolConfig config = fast_config();  // suspect 2, dead 6, purge 20
  SimNetwork net = star_joined(10, config);
  DeathLog log;
  log.attach(net);
  double now = 0;
  run_for(net, now, 6);
  ASSERT_TRUE(all_see_all_alive(net, now));
  net.partition({0, 0, 0, 0, 0, 1, 1, 1, 1, 1});
  const double cut_at = now;
  run_for(net, now, cut_seconds);
  const bool forgotten = !state_seen_by(net, 1, 7, now);
  EXPECT_TRUE(forgotten || state_seen_by(net, 1, 7, now) == PeerState::Dead) << "the cut must be felt";
  EXPECT_EQ(forgotten, cut_seconds > config.dead_after_s + config.purge_after_s + 4);
  for (const auto& [observer, member] : log.deaths)
    EXPECT_NE(observer < 5, member < 5) << observer << " declared " << member << " dead on its own side";
  net.node(8).publish_function("right-fn", "R", now);
  net.node(2).publish_function("left-fn", "L", now);
  net.heal();
  const double healed_at = now;
  while (!(all_see_all_alive(net, now) && nodes_seeing(net, "right-fn", "R") == 10 && nodes_seeing(net, "left-fn", "L") == 10) &&
         now < healed_at + 40)
    net.round(now += kRound);
  EXPECT_TRUE(all_see_all_alive(net, now)) << "still split " << now - healed_at << " s after the heal";
  EXPECT_EQ(nodes_seeing(net, "right-fn", "R"), 10u);
  EXPECT_EQ(nodes_seeing(net, "left-fn", "L"), 10u);
  EXPECT_LE(now - healed_at, 15.0);
  (void)cut_at;
}

}  // namespace

TEST(GossipProtocol, PartitionLongerThanDeadAfterHeals) { expect_partition_heals(12); }

TEST(GossipProtocol, PartitionLongerThanPurgeAfterHealsThroughSeedsAndNotices) { expect_partition_heals(40); }

TEST(GossipProtocol, ChangeFeedListsEachPeerChangeOnce) {
  SimNetwork net = star_joined(4);
  double now = 0;
  run_for(net, now, 4);
  net.node(2).take_changes();
  net.node(3).set_node_state({2, "h"}, now);
  run_for(net, now, 2);
  Changes changes = net.node(2).take_changes();
  EXPECT_NE(std::find(changes.nodes.begin(), changes.nodes.end(), "n3"), changes.nodes.end());
  EXPECT_TRUE(net.node(2).take_changes().nodes.empty()) << "each change is reported once";
  net.set_up(1, false);
  run_for(net, now, 12);
  changes = net.node(2).take_changes();
  EXPECT_NE(std::find(changes.nodes.begin(), changes.nodes.end(), "n1"), changes.nodes.end()) << "liveness changes too";
}

TEST(GossipProtocol, DuplicateNodeIdIsCountedOnBothSidesAndNoticesAreRateLimited) {
  SimNetwork net(fast_config());
  net.add_node({});
  net.add_node({0});
  net.add_node({1}, /*generation=*/5, /*id=*/"n0");  // a second host named n0, seeded with n1
  double now = 0;
  run_for(net, now, 6);
  EXPECT_GT(net.node(0).counters().duplicate_node_id + net.node(0).state().counters().duplicate_node_id, 0u);
  EXPECT_GT(net.node(2).counters().duplicate_node_id + net.node(2).state().counters().duplicate_node_id, 0u);
  // Nothing runs away: in 6 s each sends about what a healthy member sends.
  EXPECT_LE(net.messages_sent(0), 60u);
  EXPECT_LE(net.messages_sent(2), 60u);
}

// ---- signatures ----

namespace {

RecordRef resigned(const Record& original, std::string payload, const RecordAuthority* signer) {
  RecordDraft r = draft_of(original);
  r.version += 1;
  r.payload = std::move(payload);
  if (signer) r.signature = signer->sign(signing_bytes(r));  // otherwise the author's stays
  return share(r);
}

Outgoing push_to(size_t to, const std::vector<RecordRef>& records, const std::string& from_id) {
  Message push;
  push.type = MessageType::Push;
  push.from = Sender{from_id, 1, sim::endpoint_of(4), ""};
  push.records = records;
  return Outgoing{sim::endpoint_of(to), "", push};
}

}  // namespace

// ---------------------------------------------------------------- function homes

ProtocolConfig homed_config(unsigned homes = 3) {
  ProtocolConfig config = fast_config();
  config.function_homes = homes;
  config.interest_s = 20;
  config.interest_refresh_s = 5;
  return config;
}

std::set<size_t> holders_of(SimNetwork& net, const std::string& function, const std::string& summary) {
  std::set<size_t> holders;
  for (size_t i = 0; i < net.size(); ++i)
    if (net.is_up(i) && net.node(i).function_summary(function) == summary) holders.insert(i);
  return holders;
}

// The homes of `function` as node `observer` computes them, as node indexes.
std::set<size_t> homes_seen_by(SimNetwork& net, size_t observer, const std::string& function) {
  std::set<size_t> homes;
  for (const uint64_t fp : net.node(observer).homes_of(function_key_hash(function))) homes.insert(net.index_of_fp(fp));
  return homes;
}

// An agent's loop ticks at next_deadline(); a tick that leaves a timer due at or before
// its own time makes the loop tick again at once (the fleet replay treats it as a bug).
// The writer's full announcement to the homes (every 10th anti-entropy round) queued
// news after the tick had looked for news to send, so it did that while idle.
TEST(FunctionHomes, ATickLeavesNoTimerDueAtItsOwnTime) {
  SimNetwork net = star_joined(8, homed_config(3));
  double now = 0;
  run_for(net, now, 3);
  Protocol& writer = net.node(1);
  for (int f = 0; f < 5; ++f) writer.publish_function("tended-" + std::to_string(f), "v", now);
  run_for(net, now, 1);
  // The writer alone now, as its agent's loop runs it (what it sends is lost: only its
  // timers matter here). 10 anti-entropy rounds pass, the full announcement among them.
  double at = now;
  size_t ticks = 0;
  while (at < now + 12 * fast_config().anti_entropy_interval_s) {
    at = std::max(at, writer.next_deadline());
    writer.tick(at);
    ++ticks;
    ASSERT_GT(writer.next_deadline(), at) << "tick " << ticks << ": " << writer.timers();
  }
}

TEST(FunctionHomes, AFunctionReachesItsHomesWithinASecondAndNobodyElseKeepsIt) {
  SimNetwork net = star_joined(30, homed_config(3));
  double now = 0;
  run_for(net, now, 8);
  ASSERT_TRUE(all_see_all_alive(net, now));
  for (int f = 0; f < 10; ++f) net.node(f).publish_function("fn" + std::to_string(f), "v1", now);
  run_for(net, now, 1.0);
  std::map<std::string, std::set<size_t>> keepers;
  size_t records = 0;
  for (int f = 0; f < 10; ++f) {
    const std::string name = "fn" + std::to_string(f);
    std::set<size_t> expected = homes_seen_by(net, 20, name);
    ASSERT_EQ(expected.size(), 3u);
    EXPECT_EQ(homes_seen_by(net, 7, name), expected) << "every agent computes the same homes";
    expected.insert(f);  // and its writer
    EXPECT_EQ(holders_of(net, name, "v1"), expected) << name;
    records += expected.size();
    keepers[name] = expected;
  }
  size_t held = 0;
  for (size_t i = 0; i < net.size(); ++i) held += net.node(i).state().function_count();
  EXPECT_EQ(held, records) << "10 functions kept 3-4 times each, not 30 times";
  // Anti-entropy (every 5 s) compares node records only: it spreads no function records,
  // and the kept hashes still match a scan.
  run_for(net, now, 12);
  for (const auto& [name, expected] : keepers) EXPECT_EQ(holders_of(net, name, "v1"), expected) << name;
  for (size_t i = 0; i < net.size(); ++i) EXPECT_TRUE(net.node(i).state().bucket_hashes_consistent()) << i;
}

TEST(FunctionHomes, AtFivePercentLossEveryHomeHasEveryChangeWithinThreeSeconds) {
  SimNetwork net = star_joined(40, homed_config(4));
  double now = 0;
  run_for(net, now, 10);
  net.set_loss(0.05);
  for (int f = 0; f < 30; ++f) net.node(f % 40).publish_function("lossy" + std::to_string(f), "x", now);
  run_for(net, now, 3.0);
  for (int f = 0; f < 30; ++f) {
    const std::string name = "lossy" + std::to_string(f);
    std::set<size_t> expected = homes_seen_by(net, 39, name);
    expected.insert(f % 40);
    EXPECT_EQ(holders_of(net, name, "x"), expected) << name;
  }
}

TEST(FunctionHomes, AnAgentAskedAboutAFunctionPullsItFromAHomeAndForgetsItWhenNoLongerAsked) {
  const ProtocolConfig config = homed_config(3);
  SimNetwork net = star_joined(20, config);
  double now = 0;
  run_for(net, now, 8);
  net.node(2).publish_function("resize", "v1", now);
  run_for(net, now, 1);
  size_t asker = 0;
  while (holders_of(net, "resize", "v1").count(asker)) ++asker;
  net.node(asker).want_function("resize", now);
  run_for(net, now, 0.6);  // the next pull round, a PULL and a PUSH
  EXPECT_EQ(net.node(asker).function_summary("resize"), "v1");
  EXPECT_EQ(net.node(asker).counters().interest_pulls, 1u);
  // Asked again while its copy is fresh: no second pull.
  net.node(asker).want_function("resize", now);
  EXPECT_EQ(net.node(asker).counters().interest_pulls, 1u);
  // A newer version reaches the homes; the asker sees it when asked after interest_refresh_s.
  net.node(2).publish_function("resize", "v2", now);
  run_for(net, now, config.interest_refresh_s);
  EXPECT_EQ(net.node(asker).function_summary("resize"), "v1") << "nobody pushes changes to an agent that only asked";
  net.node(asker).want_function("resize", now);
  run_for(net, now, 0.6);
  EXPECT_EQ(net.node(asker).function_summary("resize"), "v2");
  // Not asked for interest_s (then one anti-entropy interval): forgotten.
  run_for(net, now, config.interest_s + config.anti_entropy_interval_s + 1);
  EXPECT_FALSE(net.node(asker).function_summary("resize"));
  EXPECT_GE(net.node(asker).counters().functions_forgotten, 1u);
}

// With one home per function (r = 1) a member that joins becomes the home of about 1/n
// of the functions, and holds none of them until each writer's next anti-entropy round.
// Asked about one in between, it has no other home to ask: it asks the member next in
// line, the home it displaced, which still holds it (before: no pull at all, and the
// fleet replay's decision sized that instance from its request).
TEST(FunctionHomes, ANewSoleHomeAskedBeforeTheWriterToldItPullsFromTheHomeItDisplaced) {
  const ProtocolConfig config = homed_config(1);
  SimNetwork net = star_joined(6, config);
  double now = 0;
  run_for(net, now, 8);
  for (int f = 0; f < 60; ++f) net.node(1).publish_function("fn-" + std::to_string(f), "v1", now);
  run_for(net, now, 2);
  const size_t joiner = net.add_node({0});
  run_for(net, now, 0.6);  // its join brings the member list; no writer round has run yet
  std::string asked;
  for (int f = 0; f < 60 && asked.empty(); ++f) {
    const std::string name = "fn-" + std::to_string(f);
    if (homes_seen_by(net, joiner, name) == std::set<size_t>{joiner} && !net.node(joiner).function_summary(name))
      asked = name;
  }
  ASSERT_FALSE(asked.empty()) << "no function moved to the new member before the writer's round";
  EXPECT_TRUE(net.node(joiner).want_function(asked, now)) << "a pull is sent";
  run_for(net, now, 0.6);
  EXPECT_EQ(net.node(joiner).function_summary(asked), "v1");
}

TEST(FunctionHomes, WhenAHomeDiesItsReplacementGetsTheRecordFromTheWriter) {
  const ProtocolConfig config = homed_config(3);
  SimNetwork net = star_joined(20, config);
  double now = 0;
  run_for(net, now, 8);
  net.node(1).publish_function("billing", "v1", now);
  run_for(net, now, 1);
  std::set<size_t> homes = homes_seen_by(net, 1, "billing");
  homes.erase(1);
  ASSERT_FALSE(homes.empty());
  const size_t victim = *homes.begin();
  net.set_up(victim, false);
  // Dead everywhere after dead_after_s (sooner when confirmed), then the writer's next
  // anti-entropy round tells the new home.
  run_for(net, now, config.dead_after_s + config.anti_entropy_interval_s + 2);
  std::set<size_t> now_homes = homes_seen_by(net, 1, "billing");
  EXPECT_FALSE(now_homes.count(victim));
  now_homes.insert(1);
  EXPECT_EQ(holders_of(net, "billing", "v1"), now_homes);
}

TEST(FunctionHomes, AHomeThatMissedAWriteGetsItAtTheWritersNextFullAnnouncement) {
  const ProtocolConfig config = homed_config(3);
  SimNetwork net = star_joined(20, config);
  double now = 0;
  run_for(net, now, 8);
  std::set<size_t> homes = homes_seen_by(net, 0, "batch");
  homes.erase(5);
  const size_t cut = *homes.begin();
  net.set_link_filter([&](size_t from, size_t to) { return from == 5 && to == cut; });
  net.node(5).publish_function("batch", "v1", now);
  run_for(net, now, 3);  // every announcement to it lost; the other homes have it
  ASSERT_FALSE(net.node(cut).function_summary("batch"));
  for (const size_t home : homes) {
    if (home != cut) {
      EXPECT_EQ(net.node(home).function_summary("batch"), "v1") << home;
    }
  }
  net.set_link_filter({});
  // Nothing changes the homes, so only the writer's full announcement (every 10th
  // anti-entropy round, ±10 % jitter) repairs it.
  double repaired = -1;
  for (const double start = now; now < start + 11 * 1.1 * config.anti_entropy_interval_s && repaired < 0;) {
    net.round(now += kRound);
    if (net.node(cut).function_summary("batch") == "v1") repaired = now - start;
  }
  EXPECT_GE(repaired, 0) << "the home that missed the write never got it";
}

TEST(FunctionHomes, AnotherRunnersNewerWriteWinsAtTheHomesAndTheOldWriterLearnsIt) {
  SimNetwork net = star_joined(20, homed_config(3));
  double now = 0;
  run_for(net, now, 8);
  net.node(3).publish_function("api", "from-3", now);
  run_for(net, now, 1);
  net.node(9).want_function("api", now);  // node 9 runs it too: it fetches node 3's record first
  run_for(net, now, 1);
  ASSERT_EQ(net.node(9).function_summary("api"), "from-3");
  net.node(9).publish_function("api", "from-9", now);  // later in Lamport order: it wins
  run_for(net, now, 1);
  std::set<size_t> homes = homes_seen_by(net, 0, "api");
  for (const size_t home : homes) EXPECT_EQ(net.node(home).function_summary("api"), "from-9") << home;
  // Node 3's periodic announcement of its old record makes a home tell it about the new one.
  run_for(net, now, 10 * homed_config().anti_entropy_interval_s + 2);
  const auto at_3 = net.node(3).function_summary("api");
  EXPECT_TRUE(!at_3 || *at_3 == "from-9") << "node 3 still holds its superseded record as current";
  for (const size_t home : homes) EXPECT_EQ(net.node(home).function_summary("api"), "from-9") << home;
}

TEST(GossipSignatures, ForgedAlteredAndReplayedRecordsAreRefusedCountedAndNeverApplied) {
  SimOptions options;
  options.signing = true;
  SimNetwork net = star_joined(5, fast_config(), options);
  double now = 0;
  run_for(net, now, 4);
  ASSERT_TRUE(all_see_all_alive(net, now));
  ASSERT_TRUE(net.node(2).signing());
  net.node(1).publish_function("f", "old", now);
  run_for(net, now, 2);
  const RecordRef old_record(net.node(2).state().function("f"));
  net.node(1).publish_function("f", "real", now);
  run_for(net, now, 2);
  const RecordRef real(net.node(2).state().function("f"));
  ASSERT_EQ(net.node(3).function_summary("f"), "real");
  net.node(3).take_changes();
  const StoreCounters before = net.node(3).state().counters();

  // Node 4 (allowlisted, so its messages are accepted) re-signs node 1's record with its own key...
  const auto mallory = net.authority(4);
  net.send(4, {push_to(3, {resigned(*real, "forged-by-4", mallory.get())}, "n4")}, now);
  // ...alters it and keeps node 1's signature...
  net.send(4, {push_to(3, {resigned(*real, "altered", nullptr)}, "n4")}, now);
  // ...and replays node 1's genuine, older record.
  net.send(4, {push_to(3, {old_record}, "n4")}, now);
  // A node record in node 1's name, signed with node 4's key.
  net.send(4, {push_to(3, {resigned(*net.node(3).state().member(fingerprint("n1"))->node, "fake-host", mallory.get())}, "n4")},
           now);

  const StoreCounters& after = net.node(3).state().counters();
  EXPECT_EQ(after.forged - before.forged, 3u) << "re-signed, altered, node record in another's name";
  EXPECT_EQ(after.stale - before.stale, 1u) << "the replay";
  EXPECT_EQ(after.applied, before.applied);
  EXPECT_EQ(net.node(3).function_summary("f"), "real");
  EXPECT_NE(net.node(3).peer("n1", now)->host_summary, "fake-host");
  const Changes changes = net.node(3).take_changes();
  EXPECT_EQ(std::find(changes.nodes.begin(), changes.nodes.end(), "n1"), changes.nodes.end())
      << "the forged node record in n1's name reaches no change feed";
  run_for(net, now, 4);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(net.node(i).function_summary("f"), "real") << i;
}

TEST(GossipSignatures, NodeRecordWithAKeyOutsideTheAllowlistIsForged) {
  SimOptions options;
  options.signing = true;
  SimNetwork net = star_joined(3, fast_config(), options);
  double now = 0;
  run_for(net, now, 3);
  // A well-formed, self-signed node record of a stranger whose key nobody allowlisted.
  SimOptions other = options;
  other.seed = 999;
  other.id_prefix = "intruder-";
  SimNetwork elsewhere(fast_config(), other);
  elsewhere.add_node({});
  const RecordRef intruder(elsewhere.node(0).state().self().node);
  const uint64_t forged_before = net.node(1).state().counters().forged;
  net.send(2, {push_to(1, {intruder}, "n2")}, now);
  EXPECT_EQ(net.node(1).state().counters().forged, forged_before + 1);
  EXPECT_FALSE(net.node(1).peer("intruder-0", now));
}

TEST(GossipSignatures, MessageUsingALiveMembersIdWithAnotherKeyIsRefused) {
  SimOptions options;
  options.signing = true;
  SimNetwork net = star_joined(3, fast_config(), options);
  double now = 0;
  run_for(net, now, 3);
  Message ping;
  ping.type = MessageType::Ping;
  ping.from = Sender{"n2", 1, "sim://2", ""};
  ping.seq = 7;
  EXPECT_TRUE(net.node(1).handle(ping, net.public_key(0), now).empty()) << "n2's id, n0's key";
  EXPECT_EQ(net.node(1).counters().refused_identity, 1u);
  EXPECT_FALSE(net.node(1).handle(ping, net.public_key(2), now).empty());
}

// ---- event-driven mode ----

TEST(GossipEvents, RumourReachesTwoHundredNodesWithinTwoSecondsOverLatentLinks) {
  SimOptions options;
  options.latency_s = 0.002;
  options.jitter_s = 0.001;
  SimNetwork net(fast_config(), options);
  for (size_t i = 0; i < 200; ++i) net.add_node(i ? std::vector<size_t>{0, (i * 7) % i} : std::vector<size_t>{});
  net.run_until(20);
  size_t knows_all = 0;
  for (size_t i = 0; i < 200; ++i) knows_all += net.node(i).state().members().size() == 200;
  ASSERT_EQ(knows_all, 200u);
  net.node(123).publish_function("evt", "v", net.local_time(123));
  const double published = net.now();
  double reached = -1;
  for (double t = published; t < published + 10 && reached < 0; t += 0.05) {
    net.run_until(t);
    if (nodes_seeing(net, "evt", "v") == 200) reached = t - published;
  }
  ASSERT_GE(reached, 0);
  EXPECT_LE(reached, 2.0);
}

// ---- building blocks ----

TEST(Lifeguard, SuspicionTimeoutShrinksWithConfirmationsFromMaxToMin) {
  EXPECT_DOUBLE_EQ(suspicion_timeout(0, 3, 2, 6), 6);
  EXPECT_DOUBLE_EQ(suspicion_timeout(1, 3, 2, 6), 4);  // log 2 / log 4 = 1/2 of the way
  EXPECT_DOUBLE_EQ(suspicion_timeout(3, 3, 2, 6), 2);
  EXPECT_DOUBLE_EQ(suspicion_timeout(9, 3, 2, 6), 2);
  LocalHealth health(8);
  health.worse(20);
  EXPECT_EQ(health.score(), 8u);
  EXPECT_DOUBLE_EQ(health.scale(), 9);
  for (int i = 0; i < 10; ++i) health.better();
  EXPECT_EQ(health.score(), 0u);
}

TEST(FlatTable, MatchesAHashMapThroughRandomInsertsAndErases) {
  struct Entry {
    uint64_t key = 0, value = 0;
  };
  struct KeyOf {
    uint64_t operator()(const Entry& e) const { return e.key; }
  };
  FlatTable<Entry, KeyOf> table;
  std::unordered_map<uint64_t, uint64_t> reference;
  Rng rng(5);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t key = 1 + rng.below(3000);  // dense keys: long probe runs and wrap-arounds
    if (rng.below(3) == 0) {
      EXPECT_EQ(table.erase(key), reference.erase(key) == 1);
    } else if (Entry* e = table.find(key)) {
      e->value = i;
      reference[key] = i;
    } else {
      table.insert(Entry{key, static_cast<uint64_t>(i)});
      reference[key] = i;
    }
  }
  ASSERT_EQ(table.size(), reference.size());
  for (const auto& [key, value] : reference) {
    const Entry* e = table.find(key);
    ASSERT_TRUE(e) << key;
    EXPECT_EQ(e->value, value);
  }
  EXPECT_LE(table.size() * 10, table.capacity() * 8) << "load factor <= 0.8";
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

// A host that joins must not write a function's summary before the fleet's record of it
// has reached it: the newest write wins, and a model started without that record knows
// nothing of the function's history (at ten times Bitbrains' functions a joiner needs
// more than one pull to fetch the fleet's records). caught_up() says when it has them.
TEST(GossipProtocol, AJoinerIsCaughtUpOnlyOnceEveryRecordItLackedHasArrived) {
  ProtocolConfig config = fast_config();
  config.max_message_bytes = 8 * 1024;  // 60 records of ~400 B: three pushes or more
  SimNetwork net(config);
  net.add_node({});
  EXPECT_TRUE(net.node(0).caught_up()) << "the first member has no one to catch up with";
  double now = 0;
  constexpr size_t kFunctions = 60;
  for (size_t f = 0; f < kFunctions; ++f) net.node(0).publish_function("fn-" + std::to_string(f), std::string(300, 'a' + f % 26), now);
  net.add_node({0});
  EXPECT_FALSE(net.node(1).caught_up());
  size_t held_while_catching_up = 0;
  double caught_up_at = -1;
  while (now < 10 && caught_up_at < 0) {
    net.round(now += kRound);
    const size_t held = net.node(1).state().function_count();
    if (!net.node(1).caught_up()) {
      held_while_catching_up = std::max(held_while_catching_up, held);
    } else {
      caught_up_at = now;
      EXPECT_EQ(held, kFunctions) << "caught up with records still missing";
    }
  }
  EXPECT_GT(held_while_catching_up, 0u) << "records arrived over several pushes";
  EXPECT_LT(held_while_catching_up, kFunctions);
  EXPECT_GT(caught_up_at, 0) << "never caught up";
  EXPECT_LE(caught_up_at, 3.0) << "a joiner pulls what it lacks at once, a push per round trip";
  // Once caught up, it stays so (records it lacks later are news, not a join).
  net.node(0).publish_function("later", "x", now);
  net.round(now += kRound);
  EXPECT_TRUE(net.node(1).caught_up());
}

// A pull names what one push should carry at an average record's size. Records larger
// than that (here 1 KB against 400 B) must still all arrive without a pull given up:
// a given-up record waits for the next comparison, and its function's summary with it.
TEST(GossipProtocol, AJoinerFetchesFarMoreRecordsThanAPushCarriesWithoutGivingAnyUp) {
  ProtocolConfig config = fast_config();
  config.max_message_bytes = 8 * 1024;  // 20 keys a pull, six records of 1 KB a push
  SimNetwork net(config);
  net.add_node({});
  double now = 0;
  constexpr size_t kFunctions = 150;
  for (size_t f = 0; f < kFunctions; ++f) net.node(0).publish_function("fn-" + std::to_string(f), std::string(1000, 'a' + f % 26), now);
  net.add_node({0});
  double caught_up_at = -1;
  while (now < 10 && caught_up_at < 0) {
    net.round(now += kRound);
    if (net.node(1).caught_up()) caught_up_at = now;
  }
  EXPECT_EQ(net.node(1).state().function_count(), kFunctions);
  EXPECT_EQ(net.node(1).counters().pulls_given_up, 0u);
  EXPECT_GT(caught_up_at, 0) << "never caught up";
  // 150 keys at 20 a pull round (0.2 s): eight rounds after the first comparison.
  EXPECT_LE(caught_up_at, 3.0) << "caught up only at a later comparison";
  EXPECT_GE(net.node(0).counters().pushes_sent, 150u / 6) << "each push carried what fits";
}

// One pull is answered with as many pushes as its records need, and no more than four
// (a member that names every key it can must not make us send without bound).
TEST(GossipProtocol, APullIsAnsweredInSeveralPushesUpToABound) {
  ProtocolConfig config = fast_config();
  config.max_message_bytes = 8 * 1024;
  SimNetwork net = star_joined(2, config);
  double now = 0;
  constexpr size_t kFunctions = 100;
  for (size_t f = 0; f < kFunctions; ++f) net.node(0).publish_function("fn-" + std::to_string(f), std::string(1000, 'a' + f % 26), now);
  const auto pull_of = [](size_t first, size_t count) {
    Message pull;
    pull.type = MessageType::Pull;
    pull.from = Sender{"n1", 1, "sim://1", ""};
    for (size_t f = first; f < first + count; ++f) pull.pull.push_back(function_key_hash("fn-" + std::to_string(f)));
    return pull;
  };
  const auto pushes_in = [&](const std::vector<Outgoing>& out) {  // other messages may ride along
    std::vector<const Message*> pushes;
    for (const Outgoing& o : out) {
      if (o.message.type != MessageType::Push) continue;
      EXPECT_LE(encoded_size(o.message), config.max_message_bytes);
      pushes.push_back(&o.message);
    }
    return pushes;
  };
  const auto records_in = [](const std::vector<const Message*>& pushes) {
    size_t records = 0;
    for (const Message* push : pushes) records += push->records.size();
    return records;
  };
  const std::vector<Outgoing> answer20 = net.node(0).handle(pull_of(0, 20), "", now);  // pushes_in points into it
  const auto twenty = pushes_in(answer20);
  EXPECT_EQ(twenty.size(), 4u) << "20 records of 1 KB, six to an 8 KB push";
  EXPECT_EQ(records_in(twenty), 20u);
  const std::vector<Outgoing> answer_all = net.node(0).handle(pull_of(0, kFunctions), "", now);
  const auto all = pushes_in(answer_all);
  EXPECT_EQ(all.size(), 4u);
  EXPECT_LT(records_in(all), kFunctions);
}

// A comparison names a version its sender has since replaced (summaries are republished
// all the time). The pull brings the version the source holds now; asking again would
// bring the same, so the want is settled by that answer, not given up on after three
// pulls (which would make a joiner start catching up over).
TEST(GossipProtocol, AWantIsSettledByWhatItsSourceHoldsNow) {
  SimNetwork net = star_joined(2);
  double now = 0;
  net.node(0).publish_function("fn", "v2", now);
  run_for(net, now, 4);
  ASSERT_EQ(net.node(1).function_summary("fn"), "v2");
  Message ack;  // node 0's answer to a comparison, naming a version it no longer holds
  ack.type = MessageType::AeAck;
  ack.from = Sender{"n0", 1, "sim://0", ""};
  ack.ae_bucket_count = 16;
  ack.ae_entries.push_back(NewsItem{function_key_hash("fn"), 0x5eed});
  const uint64_t pulls_before = net.node(1).counters().pulls_sent;
  std::vector<Outgoing> pulls = net.node(1).handle(ack, "", now);
  ASSERT_EQ(pulls.size(), 1u);
  ASSERT_EQ(pulls[0].message.type, MessageType::Pull);
  for (Outgoing& push : net.node(0).handle(pulls[0].message, "", now)) net.node(1).handle(push.message, "", now);
  run_for(net, now, 3);  // several pull retry intervals
  EXPECT_EQ(net.node(1).counters().pulls_given_up, 0u);
  EXPECT_EQ(net.node(1).counters().pulls_sent, pulls_before + 1) << "asked once";
  EXPECT_EQ(net.node(1).function_summary("fn"), "v2");
}

TEST(GossipProtocol, AComparisonIsAnsweredEvenWhenNothingDiffers) {
  // A joiner whose first answer was pulled in vain compares again; by then rumours may
  // have brought it everything. Unanswered, it would never learn that it has caught up
  // (and would never publish a summary).
  SimNetwork net = star_joined(2);
  double now = 0;
  run_for(net, now, 8);
  ASSERT_TRUE(net.node(1).caught_up());
  Message syn;
  syn.type = MessageType::AeSyn;
  syn.from = Sender{"n1", 1, "sim://1", ""};
  syn.ae_bucket_count = 16;
  syn.ae_hashes = net.node(1).state().bucket_hashes(16);
  ASSERT_EQ(syn.ae_hashes, net.node(0).state().bucket_hashes(16)) << "the two stores agree";
  const std::vector<Outgoing> out = net.node(0).handle(syn, "", now);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message.type, MessageType::AeAck);
  EXPECT_TRUE(out[0].message.ae_buckets.empty());
  EXPECT_TRUE(out[0].message.ae_entries.empty());
}
