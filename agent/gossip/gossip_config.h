#pragma once
// The gossip agent's settings and their one mapping from the config file. Kept apart
// from the ZeroMQ agent (gossip_agent.h) so that antiphase-replay's fleet, which runs
// the protocol in memory, derives its knobs through the very functions antiphased uses.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/gossip/protocol_config.h"

namespace antiphase::agent::gossip {

// This machine's host name ("antiphase-node" if it has none): the default node id.
std::string host_name();

struct GossipConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct GossipConfig {
  std::string node_id;                         // default: the host name
  std::string bind = "tcp://127.0.0.1:7946";   // our ROUTER
  std::string advertise;                       // what peers connect to; default: bind (must not be a wildcard)
  std::vector<std::string> seeds;              // "tcp://h:p" or "<z85 public key>@tcp://h:p"
  unsigned fanout = 3;                         // members a rumour is pushed to per news tick
  // SWIM protocol period: each agent probes one member per interval. Rumours go out every
  // interval / 5 (news_interval_s), anti-entropy runs every 30 intervals.
  double interval_s = 1.0;
  // A suspicion lasts dead_after_s if nobody confirms it (time to refute), down to
  // suspect_after_s once `3` other members independently suspect the member too (a crash).
  double suspect_after_s = 4, dead_after_s = 15, purge_after_s = 120;
  double news_interval_s = 0;           // 0: interval_s / 5
  double anti_entropy_interval_s = 0;   // 0: 30 x interval_s
  unsigned indirect_probes = 3;
  std::string secret_key_file, public_key_file;  // CurveZMQ; both empty = no encryption
  std::string allowed_keys_dir;                  // public keys of peers we accept
  bool insecure = false;                         // allow non-loopback gossip without keys (loudly)
  size_t max_peers = 16384, max_functions = 100000, max_message_bytes = 1 << 20;
  // 0: full replication. r > 0: function homes (ProtocolConfig::function_homes).
  unsigned function_homes = 0;
  size_t max_summary_bytes = 4096;
  std::string state_dir;  // gossip.generation is persisted here
};

// The protocol's knobs as this agent runs them (the timers derived from interval_s).
// antiphase-replay's fleet runs its simulated agents with the same call.
antiphase::gossip::ProtocolConfig protocol_config_of(const GossipConfig& config);

}  // namespace antiphase::agent::gossip

namespace antiphase::agent {

// gossip.node_id, else the host name: what peers and /v1/place call this host.
std::string node_id_of(const config::Config& c);
// gossip.advertise, else gossip.bind: where peers reach this host.
std::string gossip_endpoint_of(const config::Config& c);
// Every [gossip] key (and state.dir, where the generation is kept) as the agent takes it.
gossip::GossipConfig gossip_config_from(const config::Config& c);

}  // namespace antiphase::agent
