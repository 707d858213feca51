#include "common/gossip/replicated_state.h"

#include <algorithm>
#include <tuple>
#include <unordered_set>

namespace antiphase::gossip {
namespace {

constexpr size_t kMaxPublicKeyBytes = 64;
// Rough fixed costs of hash-map nodes, std::string headers and tree nodes.
constexpr size_t kOriginOverheadBytes = 160;
constexpr size_t kFunctionOverheadBytes = 200;

// One entry of an origin's stream, in version order, for building deltas.
struct StreamEntry {
  uint64_t version;
  const wire::NodeRecord* node;       // exactly one of these is set
  const std::string* function_name;
};

}  // namespace

ReplicatedState::ReplicatedState(std::string self_id, uint64_t self_generation, ProtocolConfig config)
    : self_id_(std::move(self_id)), config_(config) {
  OriginState& self = origins_[self_id_];
  self.id = self_id_;
  self.generation = self_generation;
  by_fingerprint_[fingerprint(self_id_)] = &self;
}

uint64_t ReplicatedState::next_self_version(double now) {
  OriginState& self = origins_.at(self_id_);
  self.last_heard = now;
  return ++self.max_version;
}

bool ReplicatedState::node_fields_ok(const wire::NodeRecord& node) const {
  return node.endpoint().size() <= config_.max_name_bytes && node.host_summary().size() <= config_.max_summary_bytes &&
         node.public_key().size() <= kMaxPublicKeyBytes;
}

bool ReplicatedState::record_fields_ok(const wire::FunctionRecord& record) const {
  return !record.function().empty() && record.function().size() <= config_.max_name_bytes &&
         record.summary().size() <= config_.max_summary_bytes;
}

bool ReplicatedState::set_self_node(wire::NodeRecord node, double now) {
  if (!node_fields_ok(node)) return false;
  node.set_version(next_self_version(now));
  origins_.at(self_id_).node = std::move(node);
  return true;
}

bool ReplicatedState::publish_function(const std::string& function, std::string summary, double now) {
  wire::FunctionRecord record;
  record.set_function(function);
  record.set_summary(std::move(summary));
  if (!record_fields_ok(record)) return false;
  record.set_version(next_self_version(now));
  // Lamport order: this write is ordered after every write we have seen, anywhere.
  record.set_lamport(++lamport_clock_);
  apply_function(origins_.at(self_id_), record);
  return true;
}

void ReplicatedState::heartbeat(double now) { next_self_version(now); }

wire::Digest ReplicatedState::digest() const {
  wire::Digest digest;
  digest.mutable_origins()->Reserve(origins_.size());
  digest.mutable_generations()->Reserve(origins_.size());
  digest.mutable_max_versions()->Reserve(origins_.size());
  for (const auto& [id, origin] : origins_) {
    digest.add_origins(fingerprint(id));
    digest.add_generations(origin.generation);
    digest.add_max_versions(origin.max_version);
  }
  return digest;
}

namespace {
bool well_formed(const wire::Digest& digest) {
  return digest.origins_size() == digest.generations_size() && digest.origins_size() == digest.max_versions_size();
}
}  // namespace

DigestDiff ReplicatedState::compare(const wire::Digest& peer_digest) const {
  DigestDiff diff;
  auto request = [&diff](uint64_t origin, uint64_t generation, uint64_t version) {
    diff.request.add_origins(origin);
    diff.request.add_generations(generation);
    diff.request.add_max_versions(version);
  };
  if (!well_formed(peer_digest)) return diff;
  std::unordered_set<uint64_t> mentioned;
  mentioned.reserve(peer_digest.origins_size());
  for (int i = 0; i < peer_digest.origins_size(); ++i) {
    const uint64_t origin_fp = peer_digest.origins(i), generation = peer_digest.generations(i),
                   version = peer_digest.max_versions(i);
    if (!mentioned.insert(origin_fp).second) continue;  // duplicate entry: first one counts
    const auto known = by_fingerprint_.find(origin_fp);
    if (known == by_fingerprint_.end()) {
      if (!is_tombstoned(origin_fp, generation, version)) request(origin_fp, 0, 0);
      continue;
    }
    const OriginState& mine = *known->second;
    if (mine.generation > generation) {
      diff.send.emplace_back(mine.id, 0);
    } else if (mine.generation < generation) {
      request(origin_fp, 0, 0);
    } else if (mine.max_version > version) {
      diff.send.emplace_back(mine.id, version);
    } else if (mine.max_version < version) {
      request(origin_fp, mine.generation, mine.max_version);
    }
  }
  for (const auto& [id, origin] : origins_)
    if (!mentioned.count(fingerprint(id))) diff.send.emplace_back(id, 0);
  return diff;
}

std::vector<std::pair<std::string, uint64_t>> ReplicatedState::wanted_by(const wire::Digest& request) const {
  std::vector<std::pair<std::string, uint64_t>> wanted;
  if (!well_formed(request)) return wanted;
  for (int i = 0; i < request.origins_size(); ++i) {
    const auto known = by_fingerprint_.find(request.origins(i));
    if (known == by_fingerprint_.end()) continue;
    const OriginState& mine = *known->second;
    const bool same_generation = mine.generation == request.generations(i);
    wanted.emplace_back(mine.id, same_generation ? request.max_versions(i) : 0);
  }
  return wanted;
}

wire::OriginDelta ReplicatedState::delta_of(const std::string& origin_id, uint64_t known_version) const {
  google::protobuf::RepeatedPtrField<wire::OriginDelta> out;
  append_deltas({{origin_id, known_version}}, SIZE_MAX, &out);
  return out.empty() ? wire::OriginDelta{} : out[0];
}

void ReplicatedState::append_deltas(const std::vector<std::pair<std::string, uint64_t>>& wanted, size_t budget_bytes,
                                    google::protobuf::RepeatedPtrField<wire::OriginDelta>* out) const {
  size_t used = 0;
  for (const auto& [origin_id, known] : wanted) {
    const auto it = origins_.find(origin_id);
    if (it == origins_.end()) continue;
    const OriginState& origin = it->second;
    if (origin.max_version <= known) continue;

    std::vector<StreamEntry> entries;
    if (origin.node.version() > known) entries.push_back({origin.node.version(), &origin.node, nullptr});
    for (auto f = origin.functions_by_version.upper_bound(known); f != origin.functions_by_version.end(); ++f)
      entries.push_back({f->first, nullptr, &f->second});
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.version < b.version; });

    const size_t header_bytes = origin.id.size() + 24;
    if (used + header_bytes > budget_bytes) return;
    used += header_bytes;
    wire::OriginDelta delta;
    // A peer that told us a version for this origin knows its id already.
    if (known > 0) {
      delta.set_origin_fp(fingerprint(origin.id));
    } else {
      delta.set_origin(origin.id);
    }
    delta.set_generation(origin.generation);
    uint64_t covered = origin.max_version;
    for (const StreamEntry& entry : entries) {
      size_t entry_bytes = 0;
      if (entry.node) {
        entry_bytes = entry.node->ByteSizeLong() + 4;
      } else {
        const FunctionEntry& function = functions_.at(*entry.function_name);
        entry_bytes = entry.function_name->size() + function.summary.size() + 32;
      }
      if (used + entry_bytes > budget_bytes) {
        covered = entry.version - 1;  // the receiver will ask again from here
        break;
      }
      used += entry_bytes;
      if (entry.node) {
        *delta.mutable_node() = *entry.node;
      } else {
        const FunctionEntry& function = functions_.at(*entry.function_name);
        wire::FunctionRecord* record = delta.add_functions();
        record->set_version(entry.version);
        record->set_function(*entry.function_name);
        record->set_summary(function.summary);
        record->set_lamport(function.lamport);
      }
    }
    if (covered <= known) return;  // budget exhausted before anything new fitted
    delta.set_max_version(covered);
    *out->Add() = std::move(delta);
    if (covered != origin.max_version) return;
  }
}

bool ReplicatedState::is_tombstoned(uint64_t origin_fp, uint64_t generation, uint64_t max_version) const {
  const auto it = tombstones_.find(origin_fp);
  if (it == tombstones_.end()) return false;
  const Tombstone& stone = it->second;
  return generation < stone.generation || (generation == stone.generation && max_version <= stone.max_version);
}

void ReplicatedState::apply(const wire::OriginDelta& delta, double now) {
  if (delta.origin().empty()) {
    const auto known = by_fingerprint_.find(delta.origin_fp());
    if (known == by_fingerprint_.end()) return;  // forgotten meanwhile; the next exchange resends the id
    const std::string id = known->second->id;
    wire::OriginDelta named = delta;
    named.set_origin(id);
    return apply(named, now);
  }
  const std::string& id = delta.origin();
  if (id == self_id_) return;  // nobody knows our stream better than we do
  if (id.empty() || id.size() > config_.max_name_bytes) {
    ++counters_.records_rejected;
    return;
  }
  const uint64_t origin_fp = fingerprint(id);
  if (is_tombstoned(origin_fp, delta.generation(), delta.max_version())) return;
  tombstones_.erase(origin_fp);

  auto it = origins_.find(id);
  if (it == origins_.end()) {
    if (delta.max_version() == 0) return;
    OriginState& fresh = origin_for_write(id, now);
    fresh.generation = delta.generation();
    it = origins_.find(id);
  }
  OriginState& origin = it->second;
  if (delta.generation() < origin.generation) return;  // a dead incarnation
  if (delta.generation() > origin.generation) reset_origin(origin, delta.generation());
  if (delta.max_version() <= origin.max_version) return;

  const uint64_t known = origin.max_version;
  if (delta.has_node() && delta.node().version() > known && delta.node().version() <= delta.max_version()) {
    if (node_fields_ok(delta.node())) {
      origin.node = delta.node();
      ++counters_.records_applied;
    } else {
      ++counters_.records_rejected;
    }
  }
  for (const wire::FunctionRecord& record : delta.functions()) {
    if (record.version() <= known || record.version() > delta.max_version()) continue;
    apply_function(origin, record);
  }
  origin.max_version = delta.max_version();
  origin.last_heard = now;
}

void ReplicatedState::apply_function(OriginState& origin, const wire::FunctionRecord& record) {
  if (!record_fields_ok(record)) {
    ++counters_.records_rejected;
    return;
  }
  lamport_clock_ = std::max(lamport_clock_, record.lamport());
  const auto it = functions_.find(record.function());
  if (it != functions_.end()) {
    const FunctionEntry& current = it->second;
    const uint64_t incoming_lamport = record.lamport();
    if (std::tie(current.lamport, current.origin) >= std::tie(incoming_lamport, origin.id)) return;  // older write
    drop_function(record.function());
  }
  store_function(origin.id, record);
  ++counters_.records_applied;
}

void ReplicatedState::store_function(const std::string& origin, const wire::FunctionRecord& record) {
  functions_[record.function()] = FunctionEntry{origin, record.version(), record.lamport(), record.summary()};
  functions_by_age_.emplace(record.lamport(), record.function());
  origins_.at(origin).functions_by_version[record.version()] = record.function();
  while (functions_.size() > config_.max_functions) {
    const std::string oldest = functions_by_age_.begin()->second;
    drop_function(oldest);
    ++counters_.functions_evicted;
  }
}

void ReplicatedState::drop_function(const std::string& name) {
  const auto it = functions_.find(name);
  if (it == functions_.end()) return;
  const FunctionEntry& entry = it->second;
  const auto author = origins_.find(entry.origin);
  if (author != origins_.end()) author->second.functions_by_version.erase(entry.version);
  functions_by_age_.erase({entry.lamport, name});
  functions_.erase(it);
}

void ReplicatedState::reset_origin(OriginState& origin, uint64_t generation) {
  // A new incarnation starts a new stream; what the old one wrote is void.
  std::vector<std::string> authored;
  for (const auto& [version, name] : origin.functions_by_version) authored.push_back(name);
  for (const std::string& name : authored) drop_function(name);
  origin.functions_by_version.clear();
  origin.node = wire::NodeRecord{};
  origin.generation = generation;
  origin.max_version = 0;
}

OriginState& ReplicatedState::origin_for_write(const std::string& id, double now) {
  if (!origins_.count(id) && origins_.size() >= config_.max_peers) evict_oldest_peer();
  OriginState& origin = origins_[id];
  if (origin.id.empty()) {
    origin.id = id;
    origin.last_heard = now;
    by_fingerprint_[fingerprint(id)] = &origin;
  }
  return origin;
}

void ReplicatedState::evict_oldest_peer() {
  // Prefer peers already given up on, then the longest silent.
  const OriginState* victim = nullptr;
  auto rank = [](const OriginState& o) { return std::make_pair(o.node.left() ? 0 : 1, o.last_heard); };
  for (const auto& [id, origin] : origins_) {
    if (id == self_id_) continue;
    if (!victim || rank(origin) < rank(*victim)) victim = &origin;
  }
  if (!victim) return;
  forget_origin(std::string(victim->id), victim->last_heard);
  ++counters_.peers_evicted;
}

void ReplicatedState::forget_origin(const std::string& id, double now) {
  OriginState& origin = origins_.at(id);
  tombstones_[fingerprint(id)] = Tombstone{origin.generation, origin.max_version, now};
  reset_origin(origin, 0);
  by_fingerprint_.erase(fingerprint(id));
  origins_.erase(id);
}

PeerState ReplicatedState::state_of(const OriginState& origin, double now) const {
  if (origin.id == self_id_) return origin.node.left() ? PeerState::Left : PeerState::Alive;
  return classify(now - origin.last_heard, origin.node.left(), config_);
}

size_t ReplicatedState::purge(double now) {
  std::vector<std::string> doomed;
  for (const auto& [id, origin] : origins_) {
    if (id == self_id_) continue;
    if (should_purge(state_of(origin, now), now - origin.last_heard, config_)) doomed.push_back(id);
  }
  for (const std::string& id : doomed) forget_origin(id, now);
  // By now every peer has purged them too (they went silent everywhere at about the same time).
  std::erase_if(tombstones_, [&](const auto& t) { return now - t.second.purged_at > config_.purge_after_s; });
  return doomed.size();
}

const FunctionEntry* ReplicatedState::function(const std::string& name) const {
  const auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

size_t ReplicatedState::approximate_bytes() const {
  size_t bytes = 0;
  for (const auto& [id, origin] : origins_)
    bytes += kOriginOverheadBytes + 2 * id.size() + origin.node.SpaceUsedLong() +
             origin.functions_by_version.size() * 64;
  for (const auto& [name, entry] : functions_)
    bytes += kFunctionOverheadBytes + 2 * name.size() + entry.origin.size() + entry.summary.size();
  bytes += tombstones_.size() * (kOriginOverheadBytes / 2);
  return bytes;
}

}  // namespace antiphase::gossip
