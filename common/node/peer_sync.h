#pragma once
// Tells a node core what its gossip layer learned about peers since the last call: only
// the members whose record or liveness changed (the gossip change feed), so the cost of
// a tick follows change, not fleet size. One implementation for antiphased's gossip
// bridge and the fleet replay.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/node/node_core.h"

namespace antiphase::node {

struct PeerSyncResult {
  size_t heard = 0, forgotten = 0;
  size_t undecodable = 0;   // adverts that did not decode (the peer is kept, without a view)
  std::string last_error;   // why the last of those did not decode
};

// `lookup(node_id)` returns the member as gossip knows it now, or nullopt once it was
// forgotten (purged). Liveness is the membership layer's job (SWIM suspects a silent
// host within seconds), so a peer it calls alive is current.
template <class Lookup>
PeerSyncResult apply_peer_changes(NodeCore& core, const std::vector<std::string>& changed, Lookup&& lookup) {
  PeerSyncResult r;
  for (const std::string& id : changed) {
    std::optional<PeerUpdate> update = lookup(id);
    if (!update) {
      core.forget_peer(id);
      ++r.forgotten;
      continue;
    }
    std::string error;
    if (core.hear_peer(*update, &error)) ++r.heard;
    else ++r.undecodable, r.last_error = id + ": " + error;
  }
  return r;
}

}  // namespace antiphase::node
