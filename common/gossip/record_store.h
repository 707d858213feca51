#pragma once
// The state every agent replicates: the newest node record of every member (with that
// member's liveness as seen here) and the winning record of every function (last writer
// wins by Lamport stamp). Every record that enters is checked: sizes, the author's
// generation, tombstones, and its signature against the author's allowlisted key.
//
// Memory: a member costs one 24-byte slot, a function one 8-byte slot (divided by the
// table's load factor), plus the records, which are shared (see record.h).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/gossip/flat_table.h"
#include "common/gossip/membership.h"
#include "common/gossip/protocol_config.h"
#include "common/gossip/record.h"
#include "common/gossip/signing.h"

namespace antiphase::gossip {

// Tenths of a second on the caller's clock: 32 bits last 13 years.
using Deciseconds = uint32_t;
inline Deciseconds to_ds(double now) { return now <= 0 ? 0 : static_cast<Deciseconds>(now * 10 + 0.5); }
inline double from_ds(Deciseconds ds) { return ds / 10.0; }

struct Member {
  RecordRef node;          // newest node record; its key hash is the member's key
  Deciseconds since = 0;   // when the current state began
  Deciseconds heard = 0;   // last sign of life: a message from it, an ACK, a newer record
  PeerState state = PeerState::Alive;

  uint64_t fp() const { return node->author_fp; }
  uint64_t generation() const { return node->generation; }
  uint64_t version() const { return node->version; }
};

struct MemberKey {
  uint64_t operator()(const Member& m) const { return m.node ? m.node->key_hash : 0; }
};
struct RecordKeyOf {
  uint64_t operator()(const RecordRef& r) const { return r ? r->key_hash : 0; }
};

enum class Verdict : uint8_t {
  Applied,     // newer than what we held: stored
  Same,        // exactly what we hold
  Stale,       // older than what we hold, or of a void generation (replays land here)
  Buried,      // a node record of a member we purged, no newer than its tombstone
  Forged,      // signature or key check failed
  Pending,     // the author's node record is missing or older: kept until it arrives
  Refused,     // over a cap, or malformed
  Duplicate,   // another key or host claims an id that is taken (ours, or a live member's)
};

struct StoreCounters {
  uint64_t applied = 0, stale = 0, forged = 0, refused = 0, duplicate_node_id = 0;
  uint64_t unverifiable = 0;  // pending records dropped before their author's record came
  uint64_t peers_evicted = 0, functions_evicted = 0, purged = 0;
};

// What changed since the last take_changes(): the caller reads the current values.
// Function records are not listed: a caller reads a function's summary when it needs
// it, and listing every change would cost every replica a string per record applied.
struct Changes {
  std::vector<std::string> nodes;  // node record or liveness changed, or forgotten
};

struct Tombstone {
  uint64_t generation = 0, version = 0;
  Deciseconds purged_at = 0;
};

// Told about every change of a member's liveness (the protocol keeps its suspicions in
// step, and the simulator counts false deaths through it).
class MemberListener {
 public:
  virtual ~MemberListener() = default;
  virtual void member_changed(const Member& member, PeerState before, double now) = 0;
  virtual void member_forgotten(uint64_t fp, double now) = 0;
};

class RecordStore {
 public:
  RecordStore(std::string self_id, uint64_t generation, const ProtocolConfig& config, const RecordAuthority& authority);

  // --- our own writes (signed) ---
  RecordRef write_self(NodeBody body, std::string host_summary, double now);
  // Next version of our node record, at least `at_least` (a refutation must beat it).
  RecordRef rewrite_self(uint64_t at_least, double now);
  RecordRef write_function(const std::string& name, std::string summary, double now);  // null if over a cap

  // --- peers' records ---
  Verdict apply(const RecordRef& record, double now);
  // Records that were pending and got applied when their author's node record arrived
  // (since the last call): the caller spreads them like any applied record.
  std::vector<RecordRef> take_released() { return std::exchange(released_, {}); }

  // --- lookups ---
  const Record* find(uint64_t key_hash) const;  // a function record or a node record
  const Record* function(const std::string& name) const;
  template <typename F>
  void for_each_function(F&& f) const {  // f(const Record&)
    functions_.for_each([&](const RecordRef& r) { f(*r); });
  }
  // Forgets a function record (with function homes: one this agent need not keep).
  bool erase_function(uint64_t key_hash);
  Member* member(uint64_t fp);
  const Member* member(uint64_t fp) const;
  const Member& self() const { return *member(self_fp_); }
  uint64_t self_fp() const { return self_fp_; }
  const std::string& self_id() const { return self_id_; }
  const FlatTable<Member, MemberKey>& members() const { return members_; }
  size_t function_count() const { return functions_.size(); }
  const Tombstone* tombstone(uint64_t fp) const;
  // Members in each PeerState (indexed by the enum value), self included.
  size_t count(PeerState state) const { return by_state_[static_cast<size_t>(state)]; }

  // --- liveness ---
  void set_state(Member& member, PeerState state, double now);
  void heard(Member& member, double now) { member.heard = to_ds(now); }
  // Forgets members Dead/Left for purge_after_s (and what they authored); expires tombstones.
  size_t purge(double now);

  // --- anti-entropy: keys hashed into `count` buckets ---
  // A power of two up to kMaxBuckets costs nothing: the hashes of kMaxBuckets buckets are
  // kept up to date as records come and go, and fold into fewer. Other counts scan.
  static constexpr uint32_t kMaxBuckets = 4096;
  static uint32_t bucket_of(uint64_t key_hash, uint32_t count);
  std::vector<uint32_t> bucket_hashes(uint32_t count) const;
  // The kept hashes equal a fresh scan (for tests).
  bool bucket_hashes_consistent() const;
  // Calls f(const Record&) for every record whose key falls into a bucket marked in `selected`.
  // Dead members' node records are left out of anti-entropy (here and in bucket_hashes()):
  // whoever lags behind must not re-learn, from us, a member we already buried. With
  // function homes, function records are too: agents hold different ones by design, and
  // their homes repair them instead (Protocol::tend_homes).
  template <typename F>
  void for_each_in(const std::vector<bool>& selected, F&& f) const;

  size_t approximate_bytes() const;
  Changes take_changes();
  const StoreCounters& counters() const { return counters_; }
  void set_listener(MemberListener* listener) { listener_ = listener; }
  // Simulator warm start: take every record and member of `donor` (which must hold our
  // own node record), sharing the records; with `functions`, those function records
  // instead of the donor's (function homes: what this agent would keep).
  void clone_from(const RecordStore& donor, double now, const std::vector<RecordRef>* functions = nullptr);

 private:
  Verdict apply_node(const RecordRef& record, double now);
  Verdict apply_function(const RecordRef& record, double now);
  Verdict apply_own_id(const Record& record);
  bool signature_ok(const Record& record, std::string_view sign_key) const;
  bool node_keys_ok(const Record& record) const;
  bool supersedes_tombstone(const Record& record) const;
  void adopt_node(Member& member, const RecordRef& record, double now);
  Member& add_member(const RecordRef& record, double now);
  void release_pending(uint64_t author_fp, double now);
  void hold_pending(const RecordRef& record, double now);
  void store_function(const RecordRef& record, RecordRef* slot);
  void drop_authored(uint64_t author_fp, uint64_t below_generation);
  void evict_functions();
  void evict_member();
  void forget(Member& member, double now);
  void note_node(std::string_view id);
  RecordRef sign_and_share(RecordDraft draft) const;
  void toggle_bucket(const Record& record);  // adds or removes the record's anti-entropy entry
  bool functions_in_anti_entropy() const { return config_.function_homes == 0; }

  std::string self_id_;
  uint64_t self_fp_;
  uint64_t self_generation_;
  const ProtocolConfig& config_;
  const RecordAuthority& authority_;
  FlatTable<Member, MemberKey> members_;
  FlatTable<RecordRef, RecordKeyOf> functions_;
  std::unordered_map<uint64_t, Tombstone> tombstones_;          // purged members, by fingerprint
  // Records whose author's node record has not arrived yet (by author fingerprint), with
  // when they came; bounded, and dropped after purge_after_s.
  std::unordered_map<uint64_t, std::vector<std::pair<RecordRef, Deciseconds>>> pending_;
  size_t pending_count_ = 0;
  uint64_t lamport_ = 0;
  size_t by_state_[4] = {0, 0, 0, 0};
  StoreCounters counters_;
  MemberListener* listener_ = nullptr;
  // Looked up by the record's string_view key: no string is built for an id already noted.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_set<std::string, IdHash, std::equal_to<>> changed_nodes_;
  std::vector<RecordRef> released_;
  std::vector<uint32_t> bucket_xor_ = std::vector<uint32_t>(kMaxBuckets, 0);
};

template <typename F>
void RecordStore::for_each_in(const std::vector<bool>& selected, F&& f) const {
  const uint32_t count = static_cast<uint32_t>(selected.size());
  members_.for_each([&](const Member& m) {
    if (m.state != PeerState::Dead && selected[bucket_of(m.node->key_hash, count)]) f(*m.node);
  });
  if (!functions_in_anti_entropy()) return;
  functions_.for_each([&](const RecordRef& r) {
    if (selected[bucket_of(r->key_hash, count)]) f(*r);
  });
}

}  // namespace antiphase::gossip
