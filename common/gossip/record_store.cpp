#include "common/gossip/record_store.h"

#include <algorithm>
#include <limits>

namespace antiphase::gossip {
namespace {

constexpr size_t kSignatureBytes = 64;
constexpr size_t kMinPendingRecords = 1024;
constexpr size_t kTombstoneBytes = 64;
constexpr size_t kPendingEntryBytes = 48;

uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint32_t entry_hash(const Record& r) { return static_cast<uint32_t>(mix(r.key_hash ^ (uint64_t{r.stamp_hash} << 17))); }

int eviction_rank(PeerState state) {
  switch (state) {
    case PeerState::Left: return 0;
    case PeerState::Dead: return 1;
    default: return 2;
  }
}

}  // namespace

RecordStore::RecordStore(std::string self_id, uint64_t generation, const ProtocolConfig& config,
                         const RecordAuthority& authority)
    : self_id_(std::move(self_id)), self_fp_(fingerprint(self_id_)), self_generation_(generation), config_(config),
      authority_(authority) {}

// ---------------------------------------------------------------- own writes

RecordRef RecordStore::sign_and_share(RecordDraft draft) const {
  if (authority_.enabled()) draft.signature = authority_.sign(signing_bytes(draft));
  RecordRef shared = share(draft);
  // Our own signature needs no checking; remember that so forwarding it costs nothing.
  if (authority_.enabled()) shared->verified_with.store(nonzero(fingerprint(authority_.sign_key())));
  return shared;
}

RecordRef RecordStore::write_self(NodeBody body, std::string host_summary, double now) {
  if (host_summary.size() > config_.max_summary_bytes || body.endpoint.size() > config_.max_name_bytes) return {};
  const Member* current = member(self_fp_);
  RecordDraft draft;
  draft.kind = RecordKind::Node;
  draft.key = self_id_;
  draft.author_fp = self_fp_;
  draft.generation = self_generation_;
  draft.version = current ? current->version() + 1 : 1;
  draft.payload = std::move(host_summary);
  draft.node = std::move(body);
  RecordRef shared = sign_and_share(std::move(draft));
  if (Member* self = member(self_fp_)) {
    adopt_node(*self, shared, now);
  } else {
    add_member(shared, now);
  }
  note_node(self_id_);
  return shared;
}

RecordRef RecordStore::rewrite_self(uint64_t at_least, double now) {
  RecordDraft draft = draft_of(*self().node);
  draft.generation = self_generation_;
  draft.version = std::max(draft.version, at_least) + 1;
  draft.signature.clear();
  RecordRef shared = sign_and_share(std::move(draft));
  adopt_node(*member(self_fp_), shared, now);
  note_node(self_id_);
  return shared;
}

RecordRef RecordStore::write_function(const std::string& name, std::string summary, double now) {
  (void)now;
  if (name.empty() || name.size() > config_.max_name_bytes || summary.size() > config_.max_summary_bytes) return {};
  RecordDraft draft;
  draft.kind = RecordKind::Function;
  draft.key = name;
  draft.author_fp = self_fp_;
  draft.generation = self_generation_;
  draft.version = ++lamport_;  // ordered after every write we have seen, anywhere
  draft.payload = std::move(summary);
  RecordRef shared = sign_and_share(std::move(draft));
  store_function(shared, functions_.find(shared->key_hash));
  return shared;
}

// ---------------------------------------------------------------- peers' records

Verdict RecordStore::apply(const RecordRef& record, double now) {
  const Record& r = *record;
  // (A node record always carries its node fields: share() refuses one without.)
  const bool sizes_ok = !r.key().empty() && r.key().size() <= config_.max_name_bytes &&
                        r.payload().size() <= config_.max_summary_bytes &&
                        (r.signature().empty() || r.signature().size() == kSignatureBytes) &&
                        (!r.is_node() || r.endpoint().size() <= config_.max_name_bytes);
  if (!sizes_ok) {
    ++counters_.refused;
    return Verdict::Refused;
  }
  return r.is_node() ? apply_node(record, now) : apply_function(record, now);
}

bool RecordStore::signature_ok(const Record& r, std::string_view sign_key) const {
  if (!authority_.enabled()) return true;
  const uint64_t key_id = nonzero(fingerprint(sign_key));
  if (r.verified_with.load(std::memory_order_relaxed) == key_id) return true;
  if (r.signature().size() != kSignatureBytes || sign_key.empty()) return false;
  if (!authority_.verify(sign_key, signing_bytes(r), r.signature())) return false;
  r.verified_with.store(key_id, std::memory_order_relaxed);
  return true;
}

bool RecordStore::node_keys_ok(const Record& r) const {
  if (!authority_.enabled()) return true;
  return authority_.key_allowed(r.curve_key(), r.sign_key()) && signature_ok(r, r.sign_key());
}

bool RecordStore::supersedes_tombstone(const Record& r) const {
  const Tombstone* stone = tombstone(r.author_fp);
  if (!stone) return true;
  return r.generation > stone->generation || (r.generation == stone->generation && r.version > stone->version);
}

Verdict RecordStore::apply_own_id(const Record& r) {
  const Record& mine = *self().node;
  if (mine.stamp_hash == r.stamp_hash) return Verdict::Same;
  // Another host using our id: its record names another endpoint or key, or is newer than
  // anything we wrote. Otherwise it is one of our own earlier records, echoed back.
  const bool another_host = r.endpoint() != mine.endpoint() || r.curve_key() != mine.curve_key();
  if (another_host || supersedes(r, mine)) {
    ++counters_.duplicate_node_id;
    return Verdict::Duplicate;
  }
  ++counters_.stale;
  return Verdict::Stale;
}

Verdict RecordStore::apply_node(const RecordRef& record, double now) {
  const Record& r = *record;
  if (r.author_fp != fingerprint(r.key())) {
    ++counters_.refused;
    return Verdict::Refused;
  }
  if (r.key() == self_id_) return apply_own_id(r);
  if (!supersedes_tombstone(r)) {
    ++counters_.stale;
    return Verdict::Buried;
  }
  Member* known = member(r.author_fp);
  if (known && known->node->stamp_hash == r.stamp_hash) return Verdict::Same;
  if (known && !supersedes(r, *known->node)) {
    ++counters_.stale;
    return Verdict::Stale;
  }
  if (!node_keys_ok(r)) {
    ++counters_.forged;
    return Verdict::Forged;
  }
  // A live member's id claimed with another key: a second host with the same node id,
  // or an allowlisted peer squatting a name. The first key keeps it until it is gone.
  if (known && known->node->curve_key() != r.curve_key() && known->state != PeerState::Dead &&
      known->state != PeerState::Left) {
    ++counters_.duplicate_node_id;
    return Verdict::Duplicate;
  }
  if (known) {
    adopt_node(*known, record, now);
  } else {
    add_member(record, now);
  }
  tombstones_.erase(r.author_fp);
  ++counters_.applied;
  note_node(r.key());
  release_pending(r.author_fp, now);
  return Verdict::Applied;
}

void RecordStore::adopt_node(Member& member, const RecordRef& record, double now) {
  const Record& r = *record;
  // A new incarnation voids what the old one wrote (hosts still running those functions
  // republish them).
  if (member.node && r.generation > member.generation()) drop_authored(r.author_fp, r.generation);
  const bool counted = member.state != PeerState::Dead;  // Dead members are left out of anti-entropy
  if (counted) toggle_bucket(*member.node);
  member.node = record;
  if (counted) toggle_bucket(*member.node);
  member.heard = to_ds(now);
  // A newer node record is the member's own word that it is alive: it refutes suspicion.
  set_state(member, r.left() ? PeerState::Left : PeerState::Alive, now);
}

Member& RecordStore::add_member(const RecordRef& record, double now) {
  if (members_.size() >= config_.max_peers) evict_member();
  Member fresh;
  fresh.node = record;
  fresh.since = fresh.heard = to_ds(now);
  fresh.state = record->left() ? PeerState::Left : PeerState::Alive;
  ++by_state_[static_cast<size_t>(fresh.state)];
  toggle_bucket(*record);
  return *members_.insert(std::move(fresh));
}

Verdict RecordStore::apply_function(const RecordRef& record, double now) {
  const Record& r = *record;
  const Member* author = member(r.author_fp);
  if (!author) {
    const Tombstone* stone = tombstone(r.author_fp);
    if (stone && r.generation <= stone->generation) {
      ++counters_.stale;
      return Verdict::Stale;
    }
    hold_pending(record, now);
    return Verdict::Pending;
  }
  if (r.generation < author->generation()) {
    ++counters_.stale;  // written by an incarnation that has restarted since
    return Verdict::Stale;
  }
  if (r.generation > author->generation()) {
    hold_pending(record, now);  // we have not seen the author's restart yet
    return Verdict::Pending;
  }
  RecordRef* current = functions_.find(r.key_hash);
  if (current) {
    if ((*current)->stamp_hash == r.stamp_hash) return Verdict::Same;
    if ((*current)->key() != r.key() || !supersedes(r, **current)) {
      ++counters_.stale;
      return Verdict::Stale;
    }
  }
  if (!signature_ok(r, author->node->sign_key())) {
    ++counters_.forged;
    return Verdict::Forged;
  }
  lamport_ = std::max(lamport_, r.version);
  store_function(record, current);
  ++counters_.applied;
  return Verdict::Applied;
}

void RecordStore::hold_pending(const RecordRef& record, double now) {
  auto& held = pending_[record->author_fp];
  for (const auto& [pending, at] : held)
    if (pending->stamp_hash == record->stamp_hash) return;
  if (pending_count_ >= std::max(kMinPendingRecords, config_.max_functions / 16)) {
    ++counters_.unverifiable;
    if (held.empty()) pending_.erase(record->author_fp);
    return;
  }
  held.emplace_back(record, to_ds(now));
  ++pending_count_;
}

void RecordStore::release_pending(uint64_t author_fp, double now) {
  const auto it = pending_.find(author_fp);
  if (it == pending_.end()) return;
  std::vector<std::pair<RecordRef, Deciseconds>> held = std::move(it->second);
  pending_.erase(it);
  pending_count_ -= held.size();
  for (const auto& [record, at] : held)
    if (apply_function(record, now) == Verdict::Applied) released_.push_back(record);
}

void RecordStore::store_function(const RecordRef& record, RecordRef* slot) {
  if (slot) {
    toggle_bucket(**slot);
    *slot = record;
  } else {
    functions_.insert(record);
  }
  toggle_bucket(*record);
  if (functions_.size() > config_.max_functions) evict_functions();
}

void RecordStore::evict_functions() {
  // Oldest writes (lowest Lamport stamps) go first; a batch at a time, so a flood at the
  // cap costs one scan per 1/64 of the table rather than one per record.
  std::vector<std::pair<uint64_t, uint64_t>> by_age;  // (lamport, key hash)
  by_age.reserve(functions_.size());
  functions_.for_each([&](const RecordRef& r) { by_age.emplace_back(r->version, r->key_hash); });
  const size_t excess = functions_.size() - config_.max_functions;
  const size_t victims = std::min(by_age.size(), excess + config_.max_functions / 64);
  std::nth_element(by_age.begin(), by_age.begin() + (victims ? victims - 1 : 0), by_age.end());
  for (size_t i = 0; i < victims; ++i) {
    const RecordRef* doomed = functions_.find(by_age[i].second);
    if (!doomed) continue;
    toggle_bucket(**doomed);
    functions_.erase(by_age[i].second);
    ++counters_.functions_evicted;
  }
}

bool RecordStore::erase_function(uint64_t key_hash) {
  const RecordRef* record = functions_.find(key_hash);
  if (!record) return false;
  toggle_bucket(**record);
  functions_.erase(key_hash);
  return true;
}

void RecordStore::drop_authored(uint64_t author_fp, uint64_t below_generation) {
  std::vector<uint64_t> doomed;
  functions_.for_each([&](const RecordRef& r) {
    if (r->author_fp == author_fp && r->generation < below_generation) doomed.push_back(r->key_hash);
  });
  for (const uint64_t key : doomed) {
    const RecordRef& record = *functions_.find(key);
    toggle_bucket(*record);
    functions_.erase(key);
  }
}

// ---------------------------------------------------------------- membership

const Record* RecordStore::find(uint64_t key_hash) const {
  if (const RecordRef* function = functions_.find(key_hash)) return function->get();
  const Member* m = members_.find(key_hash);
  return m ? m->node.get() : nullptr;
}

const Record* RecordStore::function(const std::string& name) const {
  const RecordRef* found = functions_.find(function_key_hash(name));
  return found && (*found)->key() == name ? found->get() : nullptr;
}

Member* RecordStore::member(uint64_t fp) { return members_.find(nonzero(fp)); }
const Member* RecordStore::member(uint64_t fp) const { return members_.find(nonzero(fp)); }

const Tombstone* RecordStore::tombstone(uint64_t fp) const {
  const auto it = tombstones_.find(fp);
  return it == tombstones_.end() ? nullptr : &it->second;
}

void RecordStore::set_state(Member& member, PeerState state, double now) {
  if (member.state == state) return;
  const PeerState before = member.state;
  if ((before == PeerState::Dead) != (state == PeerState::Dead)) toggle_bucket(*member.node);
  --by_state_[static_cast<size_t>(before)];
  ++by_state_[static_cast<size_t>(state)];
  member.state = state;
  member.since = to_ds(now);
  note_node(member.node->key());
  if (listener_) listener_->member_changed(member, before, now);
}

void RecordStore::evict_member() {
  const Member* victim = nullptr;
  auto rank = [](const Member& m) { return std::make_pair(eviction_rank(m.state), m.heard); };
  members_.for_each([&](const Member& m) {
    if (m.fp() == self_fp_) return;
    if (!victim || rank(m) < rank(*victim)) victim = &m;
  });
  if (!victim) return;
  ++counters_.peers_evicted;
  forget(*members_.find(victim->node->key_hash), from_ds(victim->heard));
}

void RecordStore::forget(Member& member, double now) {
  const uint64_t fp = member.fp();
  const std::string id(member.node->key());
  tombstones_[fp] = Tombstone{member.generation(), member.version(), to_ds(now)};
  drop_authored(fp, std::numeric_limits<uint64_t>::max());
  if (member.state != PeerState::Dead) toggle_bucket(*member.node);
  --by_state_[static_cast<size_t>(member.state)];
  members_.erase(nonzero(fp));
  if (const auto it = pending_.find(fp); it != pending_.end()) {
    pending_count_ -= it->second.size();
    pending_.erase(it);
  }
  note_node(id);
  if (listener_) listener_->member_forgotten(fp, now);
}

size_t RecordStore::purge(double now) {
  const Deciseconds now_ds = to_ds(now), after_ds = to_ds(config_.purge_after_s);
  std::vector<uint64_t> doomed;
  // Only Dead and Left members are ever purged: with none (the usual case) skip the scan.
  if (count(PeerState::Dead) + count(PeerState::Left) > 0) members_.for_each([&](const Member& m) {
    const bool gone = m.state == PeerState::Dead || m.state == PeerState::Left;
    if (gone && m.fp() != self_fp_ && now_ds - m.since >= after_ds) doomed.push_back(m.fp());
  });
  for (const uint64_t fp : doomed) forget(*member(fp), now);
  counters_.purged += doomed.size();
  // By now every member has purged them too (they were declared gone everywhere at about the same time).
  if (!tombstones_.empty()) std::erase_if(tombstones_, [&](const auto& t) { return now_ds - t.second.purged_at > after_ds; });
  // Records whose author never turned up.
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& held = it->second;
    const size_t before = held.size();
    std::erase_if(held, [&](const auto& p) { return now_ds - p.second > after_ds; });
    counters_.unverifiable += before - held.size();
    pending_count_ -= before - held.size();
    it = held.empty() ? pending_.erase(it) : std::next(it);
  }
  return doomed.size();
}

// ---------------------------------------------------------------- anti-entropy

uint32_t RecordStore::bucket_of(uint64_t key_hash, uint32_t count) {
  return static_cast<uint32_t>((static_cast<unsigned __int128>(mix(key_hash)) * count) >> 64);
}

bool RecordStore::bucket_hashes_consistent() const {
  std::vector<uint32_t> scanned(kMaxBuckets, 0);
  members_.for_each([&](const Member& m) {
    if (m.state != PeerState::Dead) scanned[bucket_of(m.node->key_hash, kMaxBuckets)] ^= entry_hash(*m.node);
  });
  if (functions_in_anti_entropy())
    functions_.for_each([&](const RecordRef& r) { scanned[bucket_of(r->key_hash, kMaxBuckets)] ^= entry_hash(*r); });
  return scanned == bucket_xor_;
}

void RecordStore::toggle_bucket(const Record& record) {
  if (!record.is_node() && !functions_in_anti_entropy()) return;
  bucket_xor_[bucket_of(record.key_hash, kMaxBuckets)] ^= entry_hash(record);
}

std::vector<uint32_t> RecordStore::bucket_hashes(uint32_t count) const {
  std::vector<uint32_t> hashes(count, 0);
  if (count > 0 && count <= kMaxBuckets && (count & (count - 1)) == 0) {
    // bucket_of(k, 2^b) is the top b bits of mix(k): a bucket of kMaxBuckets folds into one of `count`.
    const uint32_t shift = static_cast<uint32_t>(__builtin_ctz(kMaxBuckets) - __builtin_ctz(count));
    for (uint32_t b = 0; b < kMaxBuckets; ++b) hashes[b >> shift] ^= bucket_xor_[b];
    return hashes;
  }
  members_.for_each([&](const Member& m) {
    if (m.state != PeerState::Dead) hashes[bucket_of(m.node->key_hash, count)] ^= entry_hash(*m.node);
  });
  if (functions_in_anti_entropy())
    functions_.for_each([&](const RecordRef& r) { hashes[bucket_of(r->key_hash, count)] ^= entry_hash(*r); });
  return hashes;
}

// ---------------------------------------------------------------- accounting

size_t RecordStore::approximate_bytes() const {
  size_t bytes = members_.memory_bytes() + functions_.memory_bytes();
  members_.for_each([&](const Member& m) { bytes += record_bytes(*m.node); });
  functions_.for_each([&](const RecordRef& r) { bytes += record_bytes(*r); });
  bytes += tombstones_.size() * kTombstoneBytes + pending_count_ * kPendingEntryBytes;
  return bytes;
}

void RecordStore::note_node(std::string_view id) {
  if (config_.track_changes && id != self_id_ && !changed_nodes_.contains(id)) changed_nodes_.emplace(id);
}

Changes RecordStore::take_changes() {
  Changes changes;
  // Moved out, not copied: at 10,000 hosts the feed can carry every member.
  changes.nodes.reserve(changed_nodes_.size());
  while (!changed_nodes_.empty())
    changes.nodes.push_back(std::move(changed_nodes_.extract(changed_nodes_.begin()).value()));
  return changes;
}

void RecordStore::clone_from(const RecordStore& donor, double now, const std::vector<RecordRef>* functions) {
  members_ = donor.members_;
  lamport_ = donor.lamport_;
  if (functions) {
    functions_ = FlatTable<RecordRef, RecordKeyOf>();
    for (const RecordRef& r : *functions) {
      functions_.insert(r);
      lamport_ = std::max(lamport_, r->version);
    }
  } else {
    functions_ = donor.functions_;
  }
  tombstones_ = donor.tombstones_;
  std::copy(std::begin(donor.by_state_), std::end(donor.by_state_), std::begin(by_state_));
  bucket_xor_ = donor.bucket_xor_;
  const Deciseconds now_ds = to_ds(now);
  members_.for_each_mut([&](Member& m) { m.since = m.heard = now_ds; });
}

}  // namespace antiphase::gossip
