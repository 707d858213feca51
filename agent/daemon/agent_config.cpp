#include "agent/daemon/agent_config.h"

#include <unistd.h>

namespace antiphase::agent {

std::string node_id_of(const config::Config& c) {
  if (!c.gossip.node_id.empty()) return c.gossip.node_id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !host[0]) return "antiphase-node";
  return host;
}

std::string gossip_endpoint_of(const config::Config& c) {
  return c.gossip.advertise.empty() ? c.gossip.bind : c.gossip.advertise;
}

agent::gossip::GossipConfig gossip_config_from(const config::Config& c) {
  agent::gossip::GossipConfig g;
  g.node_id = node_id_of(c);
  g.bind = c.gossip.bind;
  g.advertise = c.gossip.advertise;
  g.seeds = c.gossip.seeds;
  g.fanout = c.gossip.fanout;
  g.interval_s = c.gossip.interval_s;
  g.suspect_after_s = c.gossip.suspect_after_s;
  g.dead_after_s = c.gossip.dead_after_s;
  g.purge_after_s = c.gossip.purge_after_s;
  g.secret_key_file = c.gossip.secret_key_file;
  g.public_key_file = c.gossip.public_key_file;
  g.allowed_keys_dir = c.gossip.allowed_keys_dir;
  g.insecure = c.gossip.insecure;
  g.max_peers = c.gossip.max_peers;
  g.function_homes = c.gossip.function_homes;
  g.state_dir = c.state.dir;
  return g;
}

}  // namespace antiphase::agent
