#pragma once
// The gossip protocol as a sans-IO state machine: feed it decoded messages and the
// current time, it returns the messages to send. No sockets, no clock, no threads, so
// unit tests and the 1,000-node simulator run exactly the code the agent runs.
//
// One round (tick) = heartbeat, membership update, then a SYN carrying our digest to
// `fanout` random live peers (seeds while we know fewer), and now and then one more to a
// Dead peer or a seed so that partitions heal. Exchange, Scuttlebutt style:
//   A --SYN(digest)--> B --ACK(deltas A lacks, digest entries B lacks)--> A --ACK2(deltas)--> B
// Every message is one-way to the sender's advertised endpoint, so the transport needs
// no request/reply pairing.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/gossip/membership.h"
#include "common/gossip/protocol_config.h"
#include "common/gossip/replicated_state.h"
#include "common/wire/frame.h"
#include "common/wire/gossip.pb.h"

namespace antiphase::gossip {

struct Identity {
  std::string node_id;
  std::string endpoint;    // where our ROUTER is reachable by peers
  std::string public_key;  // 32 raw bytes, empty when insecure
  uint64_t generation = 1;
};

struct Seed {
  std::string endpoint;
  std::string public_key;  // 32 raw bytes, empty when insecure
};

struct Outgoing {
  std::string endpoint;
  std::string public_key;
  wire::MessageType type;
  wire::Gossip message;
};

struct LocalNodeState {
  double capacity_cores = 0;
  std::string host_summary;  // opaque
};

struct PeerView {
  std::string node_id, endpoint, public_key;
  PeerState state;
  double last_heard_s_ago;
  uint64_t generation, max_version;
  double capacity_cores;
  std::string host_summary;
};

struct ProtocolCounters {
  uint64_t rounds = 0;
  uint64_t syn_sent = 0, ack_sent = 0, ack2_sent = 0;
  uint64_t messages_handled = 0;
  uint64_t messages_ignored = 0;  // well-formed frames without a usable sender
  uint64_t duplicate_node_id = 0;  // messages from another node using our node id
  uint64_t purged = 0;
};

class Protocol {
 public:
  Protocol(ProtocolConfig config, Identity self, std::vector<Seed> seeds, uint64_t rng_seed);

  void set_node_state(const LocalNodeState& state, double now);
  bool publish_function(const std::string& function, std::string summary, double now);

  std::vector<Outgoing> tick(double now);
  std::vector<Outgoing> handle(wire::MessageType type, const wire::Gossip& message, double now);
  // Marks us Left and returns LEAVE messages for up to `fanout` live peers.
  std::vector<Outgoing> leave(double now);

  std::optional<std::string> function_summary(const std::string& function) const;
  std::vector<PeerView> peers(double now) const;  // everyone but us
  const ReplicatedState& state() const { return state_; }
  const ProtocolCounters& counters() const { return counters_; }
  const Identity& identity() const { return self_; }
  // Endpoint claimed by the last message that used our node id (see duplicate_node_id).
  const std::string& last_duplicate_endpoint() const { return last_duplicate_endpoint_; }

 private:
  wire::Gossip with_sender() const;
  std::vector<const OriginState*> live_peers(double now) const;
  void pick_random_prefix(std::vector<const OriginState*>& items, size_t count);
  // Partitions heal only if somebody talks across the cut again, but peers over there are
  // Dead (not gossiped to) or purged, and seeds are only used while we know fewer than
  // `fanout` live peers: halves of fanout + 1 nodes or more would stay split forever.
  // So with probability 1 / (live peers + 1) a round also SYNs one random Dead peer or seed.
  void add_reconnect_probe(double now, size_t live_count, std::vector<Seed>& targets);
  std::vector<Outgoing> handle_syn(const wire::Gossip& message);
  std::vector<Outgoing> handle_ack(const wire::Gossip& message, double now);
  void apply_deltas(const wire::Gossip& message, double now);
  Outgoing reply_to(const wire::Sender& sender, wire::MessageType type, wire::Gossip message) const;
  size_t delta_budget(const wire::Gossip& already) const;

  ProtocolConfig config_;
  Identity self_;
  std::vector<Seed> seeds_;
  std::mt19937_64 rng_;
  ReplicatedState state_;
  LocalNodeState local_;
  ProtocolCounters counters_;
  std::string last_duplicate_endpoint_;
};

}  // namespace antiphase::gossip
