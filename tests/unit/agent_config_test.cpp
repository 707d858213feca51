// The daemon's one mapping from the config file to the gossip agent's settings: every
// key reaches the agent, and the file's defaults are the agent's own.
#include <gtest/gtest.h>

#include "agent/daemon/agent_config.h"
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

}  // namespace
}  // namespace antiphase::agent
