#pragma once
// Records: the unit of replicated state. A record is what one author wrote about one key:
//   - a node record (key = the author's node id): endpoint, capacity, host summary, keys,
//     left flag; ordered by (generation, version);
//   - a function record (key = the function name): an opaque summary; ordered by
//     (Lamport stamp, author) across authors, last writer wins.
// Every record is signed by its author (Ed25519, see signing.h) over all of its fields,
// so it can be forwarded by anyone and verified by everyone.
//
// A record is filled in as a RecordDraft, then frozen by share() into an immutable Record
// shared by reference count (RecordRef): a replica holds pointers, a message carries
// pointers, and the simulator's 10,000 replicas share one copy of each record instead of
// 10,000.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/gossip/fingerprint.h"
#include "common/gossip/flat_table.h"

namespace antiphase::gossip {

enum class RecordKind : uint8_t { Node = 1, Function = 2 };

// What only node records carry (owned: see RecordDraft).
struct NodeBody {
  std::string endpoint;      // where the author's ROUTER listens
  double capacity_cores = 0;
  std::string curve_key;     // 32-byte CurveZMQ public key (empty when insecure)
  std::string sign_key;      // 32-byte Ed25519 public key derived from it (empty when unsigned)
  bool left = false;         // graceful leave
};

// A record being built: it owns its fields and can be changed (the decoder, our own
// writes, tests and the simulator's forgers fill one in); share() freezes it.
struct RecordDraft {
  RecordKind kind = RecordKind::Function;
  std::string key{};         // node id (node records) or function name
  uint64_t author_fp = 0;    // fingerprint(author node id)
  uint64_t generation = 0;   // the author's generation when it wrote this
  uint64_t version = 0;      // node: version within the generation; function: Lamport stamp
  std::string payload{};     // function summary, or the node's host summary (opaque)
  std::optional<NodeBody> node{};  // node records only, and always for them
  std::string signature{};   // Ed25519 over signing_bytes(), empty when signing is off
};

// A record's fields as views: what share() copies into the record's block, and what
// signing reads. The decoder fills one straight from the protobuf message's strings.
struct RecordFields {
  RecordKind kind = RecordKind::Function;
  std::string_view key{};
  uint64_t author_fp = 0, generation = 0, version = 0;
  std::string_view payload{}, signature{};
  // Node records only (ignored for function records).
  std::string_view endpoint{}, curve_key{}, sign_key{};
  double capacity_cores = 0;
  bool left = false;

  bool is_node() const { return kind == RecordKind::Node; }
};
RecordFields fields_of(const RecordDraft& draft);  // views into the draft

class RecordRef;

// A frozen record: one allocation, this 64-byte header followed by the record's bytes
// (key, payload, signature; then, for node records, endpoint, curve key, sign key,
// capacity and the left flag). An agent of a 10,000-host fleet holds ~41,600 records,
// so what a record costs beyond its bytes is paid that often: a heap block per string,
// std::string objects and a separate NodeBody cost ~170 bytes more per record than this
// (docs/gossip.md, "Scaling"). Built only by share().
class Record {
 public:
  Record(const Record&) = delete;
  Record& operator=(const Record&) = delete;

  // The reference count (RecordRef), then caches, safe to share: the encoded size on the
  // wire, and a positive verification against a key (hash of the key).
  mutable std::atomic<uint32_t> refs{0};
  mutable std::atomic<uint32_t> wire_bytes{0};
  mutable std::atomic<uint64_t> verified_with{0};

  const uint64_t author_fp;   // see RecordDraft
  const uint64_t generation;
  const uint64_t version;
  // Identity of the key, and of this exact version of it.
  const uint64_t key_hash;    // nonzero; for node records equal to nonzero(fingerprint(key))
  const uint32_t stamp_hash;  // hash of (author, generation, version, payload, signature)

  RecordKind kind() const { return kind_; }
  bool is_node() const { return kind_ == RecordKind::Node; }
  std::string_view key() const { return {bytes(), key_bytes_}; }
  std::string_view payload() const { return {bytes() + key_bytes_, payload_bytes_}; }
  std::string_view signature() const { return {bytes() + key_bytes_ + payload_bytes_, signature_bytes_}; }
  // Node records only.
  std::string_view endpoint() const { return {node_bytes(), endpoint_bytes_}; }
  std::string_view curve_key() const { return {node_bytes() + endpoint_bytes_, curve_key_bytes_}; }
  std::string_view sign_key() const { return {node_bytes() + endpoint_bytes_ + curve_key_bytes_, sign_key_bytes_}; }
  double capacity_cores() const;
  bool left() const;

  // Bytes of the allocation (header and tail), before malloc's own rounding.
  size_t allocation_bytes() const;

 private:
  friend RecordRef share(const RecordFields& fields);
  friend class RecordRef;
  Record(const RecordFields& fields, uint64_t key_hash, uint32_t stamp_hash);
  static void destroy(const Record* record);

  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* node_bytes() const { return bytes() + key_bytes_ + payload_bytes_ + signature_bytes_; }
  const char* node_scalars() const { return node_bytes() + endpoint_bytes_ + curve_key_bytes_ + sign_key_bytes_; }

  // Lengths of the tail's fields; share() refuses drafts that do not fit them.
  uint32_t payload_bytes_;
  uint16_t key_bytes_;
  uint16_t endpoint_bytes_;
  uint8_t signature_bytes_;
  uint8_t curve_key_bytes_;
  uint8_t sign_key_bytes_;
  RecordKind kind_;
};
static_assert(sizeof(Record) == 64, "every replica pays the header once per record: grow it knowingly");

uint64_t node_key_hash(std::string_view node_id);
uint64_t function_key_hash(std::string_view function);

// The bytes an author signs: every field but the signature, length-prefixed, behind a
// domain separator so a signature can never be replayed as another kind of message.
// The same bytes for a draft and for the record share() makes of it.
std::string signing_bytes(const RecordFields& fields);
std::string signing_bytes(const RecordDraft& draft);
std::string signing_bytes(const Record& record);

// Orders two records of the same key: true if `a` supersedes `b`.
bool supersedes(const Record& a, const Record& b);

class RecordRef {
 public:
  RecordRef() = default;
  explicit RecordRef(const Record* record) : record_(record) { retain(); }
  RecordRef(const RecordRef& other) : record_(other.record_) { retain(); }
  RecordRef(RecordRef&& other) noexcept : record_(std::exchange(other.record_, nullptr)) {}
  RecordRef& operator=(RecordRef other) noexcept {
    std::swap(record_, other.record_);
    return *this;
  }
  ~RecordRef() { release(); }

  const Record* get() const { return record_; }
  const Record& operator*() const { return *record_; }
  const Record* operator->() const { return record_; }
  explicit operator bool() const { return record_ != nullptr; }
  bool operator==(const RecordRef& other) const { return record_ == other.record_; }

 private:
  void retain() {
    if (record_) record_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() {
    if (record_ && record_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) Record::destroy(record_);
    record_ = nullptr;
  }
  const Record* record_ = nullptr;
};

// Freezes a record: copies its fields into one allocation, computes its hashes and hands
// out the first reference. Throws std::length_error if a field is longer than the
// header's lengths hold (record keys and endpoints 65,535 bytes; curve keys, sign keys
// and signatures 255), and std::invalid_argument for a draft of a node record without
// its NodeBody (or of a function record with one).
RecordRef share(const RecordFields& fields);
RecordRef share(const RecordDraft& draft);

// A draft with the record's fields, to change and sign again (our own next version,
// tests' and the simulator's forgers).
RecordDraft draft_of(const Record& record);

// Heap bytes of one record: its allocation as glibc's malloc rounds it (checked against
// mallinfo2 in tests/gossip/record_memory_test.cpp).
size_t record_bytes(const Record& record);

}  // namespace antiphase::gossip
