// The daemon's one mapping from the config file to the gossip agent's settings: every
// key reaches the agent, and the file's defaults are the agent's own; and the fleet
// replay's simulated agents run the protocol as antiphased does.
#include <gtest/gtest.h>

#include "agent/gossip/gossip_config.h"
#include "agent/replay/replay_app.h"
#include "common/config/config.h"

namespace antiphase::agent {
namespace {

TEST(GossipConfigMapping, EveryGossipKeyReachesTheAgent) {
  const config::Config c = config::parse(R"(
[gossip]
enabled = true
node_id = "worker-7"
bind = "tcp://10.0.0.7:7946"
advertise = "tcp://192.0.2.7:7946"
seeds = ["tcp://10.0.0.1:7946"]
fanout = 4
interval = "2s"
suspect_after = "5s"
dead_after = "20s"
purge_after = "3m"
insecure = true
max_peers = 20000
function_homes = 8
[state]
dir = "/var/lib/x"
)",
                                         "test.toml");
  const gossip::GossipConfig g = gossip_config_from(c);
  EXPECT_EQ(g.node_id, "worker-7");
  EXPECT_EQ(g.bind, "tcp://10.0.0.7:7946");
  EXPECT_EQ(g.advertise, "tcp://192.0.2.7:7946");
  EXPECT_EQ(g.seeds.size(), 1u);
  EXPECT_EQ(g.fanout, 4u);
  EXPECT_DOUBLE_EQ(g.interval_s, 2.0);
  EXPECT_DOUBLE_EQ(g.suspect_after_s, 5.0);
  EXPECT_DOUBLE_EQ(g.dead_after_s, 20.0);
  EXPECT_DOUBLE_EQ(g.purge_after_s, 180.0);
  EXPECT_TRUE(g.insecure);
  EXPECT_EQ(g.max_peers, 20000u);
  EXPECT_EQ(g.function_homes, 8u);
  EXPECT_EQ(g.state_dir, "/var/lib/x");
}

TEST(GossipConfigMapping, TheFilesDefaultsAreTheAgentsDefaults) {
  const gossip::GossipConfig mapped = gossip_config_from(config::parse(config::default_config_toml(), "antiphase.toml"));
  const gossip::GossipConfig plain;
  EXPECT_EQ(mapped.fanout, plain.fanout);
  EXPECT_EQ(mapped.interval_s, plain.interval_s);
  EXPECT_EQ(mapped.suspect_after_s, plain.suspect_after_s);
  EXPECT_EQ(mapped.dead_after_s, plain.dead_after_s);
  EXPECT_EQ(mapped.purge_after_s, plain.purge_after_s);
  EXPECT_EQ(mapped.max_peers, plain.max_peers);
  EXPECT_EQ(mapped.function_homes, plain.function_homes);
  EXPECT_EQ(mapped.bind, plain.bind);
}

// Every protocol knob, as antiphased runs it and as antiphase-replay's fleet does, from
// one file. The replay calls the daemon's mapping; this fails if it ever maps a key on
// its own again (it once kept the protocol struct's 4,096 peers, not 16,384).
void expect_same_protocol(const config::Config& c) {
  const antiphase::gossip::ProtocolConfig daemon = gossip::protocol_config_of(gossip_config_from(c));
  const antiphase::gossip::ProtocolConfig replay = replay::fleet_gossip_config(c);
  EXPECT_EQ(replay.probe_interval_s, daemon.probe_interval_s);
  EXPECT_EQ(replay.probe_timeout_s, daemon.probe_timeout_s);
  EXPECT_EQ(replay.indirect_probes, daemon.indirect_probes);
  EXPECT_EQ(replay.suspect_after_s, daemon.suspect_after_s);
  EXPECT_EQ(replay.dead_after_s, daemon.dead_after_s);
  EXPECT_EQ(replay.suspicion_confirmations, daemon.suspicion_confirmations);
  EXPECT_EQ(replay.max_local_health, daemon.max_local_health);
  EXPECT_EQ(replay.purge_after_s, daemon.purge_after_s);
  EXPECT_EQ(replay.fanout, daemon.fanout);
  EXPECT_EQ(replay.news_interval_s, daemon.news_interval_s);
  EXPECT_EQ(replay.news_multiplier, daemon.news_multiplier);
  EXPECT_EQ(replay.anti_entropy_interval_s, daemon.anti_entropy_interval_s);
  EXPECT_EQ(replay.anti_entropy_settle_s, daemon.anti_entropy_settle_s);
  EXPECT_EQ(replay.pull_retry_s, daemon.pull_retry_s);
  EXPECT_EQ(replay.function_homes, daemon.function_homes);
  EXPECT_EQ(replay.interest_s, daemon.interest_s);
  EXPECT_EQ(replay.interest_refresh_s, daemon.interest_refresh_s);
  EXPECT_EQ(replay.max_peers, daemon.max_peers);
  EXPECT_EQ(replay.max_functions, daemon.max_functions);
  EXPECT_EQ(replay.max_message_bytes, daemon.max_message_bytes);
  EXPECT_EQ(replay.max_summary_bytes, daemon.max_summary_bytes);
  EXPECT_EQ(replay.max_name_bytes, daemon.max_name_bytes);
}

TEST(GossipConfigMapping, TheFleetReplayRunsTheDaemonsProtocol) {
  const config::Config c = config::parse(R"(
[gossip]
fanout = 4
interval = "2s"
suspect_after = "5s"
dead_after = "20s"
purge_after = "3m"
max_peers = 20000
function_homes = 8
)",
                                         "test.toml");
  expect_same_protocol(c);
  EXPECT_EQ(replay::fleet_gossip_config(c).function_homes, 8u) << "the file's value, not a default";
  EXPECT_EQ(replay::fleet_gossip_config(c).max_peers, 20000u);
  EXPECT_DOUBLE_EQ(replay::fleet_gossip_config(c).news_interval_s, 0.4) << "derived from interval";
  expect_same_protocol(config::Config{});
  expect_same_protocol(config::parse(config::default_config_toml(), "antiphase.toml"));
}

}  // namespace
}  // namespace antiphase::agent
