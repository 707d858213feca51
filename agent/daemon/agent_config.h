#pragma once
// The daemon's half of the one config mapping: config::Config → the OS-layer structs
// (gossip transport, identity). The node core's half is common/node/from_config.h;
// the sampler's is in usage_feed.cpp, next to its only user.
#include <string>

#include "agent/gossip/gossip_agent.h"
#include "common/config/config.h"

namespace antiphase::agent {

// gossip.node_id, else the host name: what peers and /v1/place call this host.
std::string node_id_of(const config::Config& c);
// gossip.advertise, else gossip.bind: where peers reach this host.
std::string gossip_endpoint_of(const config::Config& c);
agent::gossip::GossipConfig gossip_config_from(const config::Config& c);

}  // namespace antiphase::agent
