#pragma once
// Liveness of a peer from how long its heartbeat has been silent. Timeouts rather than
// phi-accrual: the heartbeat is the origin's max_version, which reaches us through
// several gossip hops, so inter-arrival times are too irregular for phi to add much.
#include <string_view>

#include "common/gossip/protocol_config.h"

namespace antiphase::gossip {

enum class PeerState { Alive, Suspect, Dead, Left };

std::string_view to_string(PeerState state);

inline PeerState classify(double silent_s, bool left, const ProtocolConfig& config) {
  if (left) return PeerState::Left;
  if (silent_s > config.dead_after_s) return PeerState::Dead;
  if (silent_s > config.suspect_after_s) return PeerState::Suspect;
  return PeerState::Alive;
}

inline bool should_purge(PeerState state, double silent_s, const ProtocolConfig& config) {
  return (state == PeerState::Dead || state == PeerState::Left) && silent_s > config.purge_after_s;
}

}  // namespace antiphase::gossip
