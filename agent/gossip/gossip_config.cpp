#include "agent/gossip/gossip_config.h"

#include <unistd.h>

namespace antiphase::agent::gossip {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || !name[0]) return "antiphase-node";
  return name;
}

antiphase::gossip::ProtocolConfig protocol_config_of(const GossipConfig& config) {
  auto p = antiphase::gossip::ProtocolConfig::timed_by(config.interval_s, config.news_interval_s,
                                                      config.anti_entropy_interval_s);
  p.indirect_probes = config.indirect_probes;
  p.fanout = config.fanout;
  p.suspect_after_s = config.suspect_after_s;
  p.dead_after_s = config.dead_after_s;
  p.purge_after_s = config.purge_after_s;
  p.max_peers = config.max_peers;
  p.max_functions = config.max_functions;
  p.max_message_bytes = config.max_message_bytes;
  p.max_summary_bytes = config.max_summary_bytes;
  p.function_homes = config.function_homes;
  return p;
}

}  // namespace antiphase::agent::gossip

namespace antiphase::agent {

std::string node_id_of(const config::Config& c) {
  return c.gossip.node_id.empty() ? gossip::host_name() : c.gossip.node_id;
}

std::string gossip_endpoint_of(const config::Config& c) {
  return c.gossip.advertise.empty() ? c.gossip.bind : c.gossip.advertise;
}

gossip::GossipConfig gossip_config_from(const config::Config& c) {
  gossip::GossipConfig g;
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
