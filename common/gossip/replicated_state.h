#pragma once
// The Scuttlebutt state every agent replicates: one versioned entry stream per origin
// (its node record, heartbeat and the function summaries it authored) plus a
// function-keyed last-writer-wins table. Memory stays bounded as hosts grow because a
// function is stored once, whoever wrote it last, not once per host.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/gossip/fingerprint.h"
#include "common/gossip/membership.h"
#include "common/gossip/protocol_config.h"
#include "common/wire/gossip.pb.h"

namespace antiphase::gossip {

struct FunctionEntry {
  std::string origin;
  uint64_t version = 0;  // in the origin's stream
  uint64_t lamport = 0;  // cross-origin order: higher wins, origin id breaks ties
  std::string summary;
};

struct OriginState {
  std::string id;
  uint64_t generation = 0;
  uint64_t max_version = 0;  // everything up to here is held (or superseded); also the heartbeat
  wire::NodeRecord node;     // version 0 = not known yet
  std::map<uint64_t, std::string> functions_by_version;  // authored records still held
  double last_heard = 0;     // caller time when max_version last advanced
};

// What one side must send and ask for after comparing a peer's digest with ours.
struct DigestDiff {
  std::vector<std::pair<std::string, uint64_t>> send;  // origin, peer's known version (0 = all)
  wire::Digest request;                                // what we hold, for origins where the peer is ahead
};

struct ApplyCounters {
  uint64_t records_applied = 0;
  uint64_t records_rejected = 0;  // oversize or malformed fields
  uint64_t peers_evicted = 0;
  uint64_t functions_evicted = 0;
};

class ReplicatedState {
 public:
  ReplicatedState(std::string self_id, uint64_t self_generation, ProtocolConfig config);

  // --- local writes (each takes the next version of our own stream) ---
  bool set_self_node(wire::NodeRecord node, double now);
  // False (and nothing stored) if the name or summary exceeds the configured caps.
  bool publish_function(const std::string& function, std::string summary, double now);
  void heartbeat(double now);

  // --- anti-entropy ---
  wire::Digest digest() const;
  DigestDiff compare(const wire::Digest& peer_digest) const;
  // Turns a peer's request digest (from an ACK) into (origin, known version) to send.
  std::vector<std::pair<std::string, uint64_t>> wanted_by(const wire::Digest& request) const;
  // Appends deltas for `wanted` to `out`, stopping before `budget_bytes` would be exceeded;
  // an origin cut short gets max_version = its last included entry, so nothing is skipped.
  void append_deltas(const std::vector<std::pair<std::string, uint64_t>>& wanted, size_t budget_bytes,
                     google::protobuf::RepeatedPtrField<wire::OriginDelta>* out) const;
  wire::OriginDelta delta_of(const std::string& origin, uint64_t known_version) const;
  void apply(const wire::OriginDelta& delta, double now);

  // --- membership maintenance ---
  PeerState state_of(const OriginState& origin, double now) const;
  // Forgets Dead/Left origins silent longer than purge_after_s (and what they authored).
  size_t purge(double now);

  // --- queries ---
  const std::string& self_id() const { return self_id_; }
  const OriginState& self() const { return origins_.at(self_id_); }
  const std::unordered_map<std::string, OriginState>& origins() const { return origins_; }
  const FunctionEntry* function(const std::string& name) const;
  size_t function_count() const { return functions_.size(); }
  // Approximate bytes held (strings + fixed per-entry overhead), for bounding/benchmarks.
  size_t approximate_bytes() const;
  const ApplyCounters& counters() const { return counters_; }

 private:
  OriginState& origin_for_write(const std::string& id, double now);
  bool is_tombstoned(uint64_t fingerprint, uint64_t generation, uint64_t max_version) const;
  void forget_origin(const std::string& id, double now);
  void reset_origin(OriginState& origin, uint64_t generation);
  bool node_fields_ok(const wire::NodeRecord& node) const;
  void apply_function(OriginState& origin, const wire::FunctionRecord& record);
  void store_function(const std::string& origin, const wire::FunctionRecord& record);
  void drop_function(const std::string& name);
  void evict_oldest_peer();
  bool record_fields_ok(const wire::FunctionRecord& record) const;
  uint64_t next_self_version(double now);

  std::string self_id_;
  ProtocolConfig config_;
  std::unordered_map<std::string, OriginState> origins_;
  std::unordered_map<std::string, FunctionEntry> functions_;
  std::set<std::pair<uint64_t, std::string>> functions_by_age_;  // (lamport, name)
  // Purged origins, so a peer that has not purged them yet cannot resurrect them.
  struct Tombstone { uint64_t generation, max_version; double purged_at; };
  std::unordered_map<uint64_t, Tombstone> tombstones_;  // by fingerprint
  // unordered_map nodes never move, so these pointers stay valid until erase.
  std::unordered_map<uint64_t, OriginState*> by_fingerprint_;
  uint64_t lamport_clock_ = 0;
  ApplyCounters counters_;
};

}  // namespace antiphase::gossip
