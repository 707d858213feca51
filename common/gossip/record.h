#pragma once
// Records: the unit of replicated state. A record is what one author wrote about one key:
//   - a node record (key = the author's node id): endpoint, capacity, host summary, keys,
//     left flag; ordered by (generation, version);
//   - a function record (key = the function name): an opaque summary; ordered by
//     (Lamport stamp, author) across authors, last writer wins.
// Every record is signed by its author (Ed25519, see signing.h) over all of its fields,
// so it can be forwarded by anyone and verified by everyone.
//
// Records are immutable once built and shared by reference count (RecordRef): a replica
// holds pointers, a message carries pointers, and the simulator's 10,000 replicas share
// one copy of each record instead of 10,000.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/gossip/fingerprint.h"
#include "common/gossip/flat_table.h"

namespace antiphase::gossip {

enum class RecordKind : uint8_t { Node = 1, Function = 2 };

// What only node records carry.
struct NodeBody {
  std::string endpoint;      // where the author's ROUTER listens
  double capacity_cores = 0;
  std::string curve_key;     // 32-byte CurveZMQ public key (empty when insecure)
  std::string sign_key;      // 32-byte Ed25519 public key derived from it (empty when unsigned)
  bool left = false;         // graceful leave
};

struct Record {
  RecordKind kind = RecordKind::Function;
  std::string key;           // node id (node records) or function name
  uint64_t author_fp = 0;    // fingerprint(author node id)
  uint64_t generation = 0;   // the author's generation when it wrote this
  uint64_t version = 0;      // node: version within the generation; function: Lamport stamp
  std::string payload;       // function summary, or the node's host summary (opaque)
  std::unique_ptr<const NodeBody> node;  // node records only
  std::string signature;     // Ed25519 over signing_bytes(), empty when signing is off

  // Set by share(): identity of the key, and of this exact version of it.
  uint64_t key_hash = 0;     // nonzero; for node records equal to nonzero(fingerprint(key))
  uint32_t stamp_hash = 0;   // hash of (author, generation, version, payload, signature)

  // Caches, safe to share: a positive verification against a key (hash of the key),
  // and the encoded size on the wire.
  mutable std::atomic<uint64_t> verified_with{0};
  mutable std::atomic<uint32_t> wire_bytes{0};
  mutable std::atomic<uint32_t> refs{0};

  bool is_node() const { return kind == RecordKind::Node; }
  const NodeBody& body() const { return *node; }  // node records only
};

uint64_t node_key_hash(std::string_view node_id);
uint64_t function_key_hash(std::string_view function);

// The bytes an author signs: every field but the signature, length-prefixed, behind a
// domain separator so a signature can never be replayed as another kind of message.
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
    if (record_ && record_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete record_;
    record_ = nullptr;
  }
  const Record* record_ = nullptr;
};

// Freezes a built record: computes its hashes and hands out the first reference.
RecordRef share(std::unique_ptr<Record> record);

// Approximate heap bytes of one record (strings + fixed overheads), for state accounting.
size_t record_bytes(const Record& record);

}  // namespace antiphase::gossip
