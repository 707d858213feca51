#include "common/gossip/record.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <tuple>

namespace antiphase::gossip {
namespace {

constexpr std::string_view kSigningDomain = "antiphase-gossip-record-v2";
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;
// After a node record's strings: capacity (a double, unaligned) and the left flag.
constexpr size_t kNodeScalarBytes = sizeof(double) + 1;

uint64_t fnv(std::string_view bytes, uint64_t hash = kFnvOffset) {
  for (const char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

uint64_t fnv_u64(uint64_t value, uint64_t hash) {
  for (int i = 0; i < 8; ++i) {
    hash ^= (value >> (8 * i)) & 0xff;
    hash *= kFnvPrime;
  }
  return hash;
}

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_u64(out, bytes.size());
  out.append(bytes);
}

// What signing and the stamp hash read, from a draft or a frozen record alike: one code
// path, so a record signs and hashes the same before and after share().
struct Fields {
  RecordKind kind;
  std::string_view key;
  uint64_t author_fp, generation, version;
  std::string_view payload, signature;
  bool is_node;
  std::string_view endpoint, curve_key, sign_key;
  double capacity_cores;
  bool left;
};

Fields fields_of(const RecordDraft& d) {
  static const NodeBody kNoBody;
  const NodeBody& n = d.node ? *d.node : kNoBody;
  return {d.kind, d.key, d.author_fp, d.generation, d.version, d.payload, d.signature,
          d.kind == RecordKind::Node, n.endpoint, n.curve_key, n.sign_key, n.capacity_cores, n.left};
}

Fields fields_of(const Record& r) {
  if (!r.is_node())
    return {r.kind(), r.key(), r.author_fp, r.generation, r.version, r.payload(), r.signature(), false, {}, {}, {}, 0, false};
  return {r.kind(),     r.key(),      r.author_fp,       r.generation, r.version,   r.payload(),
          r.signature(), true,        r.endpoint(),      r.curve_key(), r.sign_key(), r.capacity_cores(), r.left()};
}

std::string signing_bytes_of(const Fields& r) {
  std::string out;
  out.reserve(kSigningDomain.size() + r.key.size() + r.payload.size() + 160);
  out.append(kSigningDomain);
  out.push_back(static_cast<char>(r.kind));
  put_bytes(out, r.key);
  put_u64(out, r.author_fp);
  put_u64(out, r.generation);
  put_u64(out, r.version);
  put_bytes(out, r.payload);
  if (r.is_node) {
    put_bytes(out, r.endpoint);
    uint64_t capacity_bits = 0;
    std::memcpy(&capacity_bits, &r.capacity_cores, sizeof(capacity_bits));
    put_u64(out, capacity_bits);
    put_bytes(out, r.curve_key);
    put_bytes(out, r.sign_key);
    out.push_back(r.left ? 1 : 0);
  }
  return out;
}

uint32_t stamp_hash_of(const Fields& r) {
  uint64_t stamp = fnv_u64(r.author_fp, kFnvOffset);
  stamp = fnv_u64(r.generation, stamp);
  stamp = fnv_u64(r.version, stamp);
  stamp = fnv(r.payload, stamp);
  stamp = fnv(r.signature, stamp);
  if (r.is_node) stamp = fnv(r.endpoint, fnv_u64(r.left, stamp));
  return static_cast<uint32_t>(stamp ^ (stamp >> 32));
}

// The header keeps 16-bit lengths for names and 8-bit ones for keys and signatures: a
// draft beyond them is a caller's bug (the decoder and our writes cap names at
// max_name_bytes, keys at 32 bytes, signatures at 64).
template <typename Length>
Length length_of(std::string_view field, const char* what) {
  if (field.size() > std::numeric_limits<Length>::max())
    throw std::length_error(std::string("record field too long for its header: ") + what);
  return static_cast<Length>(field.size());
}

size_t tail_bytes(const Fields& f) {
  size_t bytes = f.key.size() + f.payload.size() + f.signature.size();
  if (f.is_node) bytes += f.endpoint.size() + f.curve_key.size() + f.sign_key.size() + kNodeScalarBytes;
  return bytes;
}

char* append(char* out, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

// What glibc's malloc takes for a block of `bytes`: 8 bytes of header, rounded up to 16,
// at least 32.
size_t heap_block_bytes(size_t bytes) { return std::max<size_t>(32, (bytes + 8 + 15) & ~size_t{15}); }

}  // namespace

uint64_t node_key_hash(std::string_view node_id) { return nonzero(fingerprint(node_id)); }

uint64_t function_key_hash(std::string_view function) {
  // A different starting point than node ids, so a function and a node never share a key.
  return nonzero(fnv(function, fnv("function\x1f")));
}

std::string signing_bytes(const RecordDraft& draft) { return signing_bytes_of(fields_of(draft)); }
std::string signing_bytes(const Record& record) { return signing_bytes_of(fields_of(record)); }

bool supersedes(const Record& a, const Record& b) {
  if (a.is_node()) return std::tie(a.generation, a.version) > std::tie(b.generation, b.version);
  return std::tie(a.version, a.author_fp) > std::tie(b.version, b.author_fp);
}

Record::Record(const RecordDraft& d, uint64_t key_hash_, uint32_t stamp_hash_)
    : author_fp(d.author_fp), generation(d.generation), version(d.version), key_hash(key_hash_),
      stamp_hash(stamp_hash_), payload_bytes_(length_of<uint32_t>(d.payload, "payload")),
      key_bytes_(length_of<uint16_t>(d.key, "key")),
      endpoint_bytes_(d.node ? length_of<uint16_t>(d.node->endpoint, "endpoint") : uint16_t{0}),
      signature_bytes_(length_of<uint8_t>(d.signature, "signature")),
      curve_key_bytes_(d.node ? length_of<uint8_t>(d.node->curve_key, "curve key") : uint8_t{0}),
      sign_key_bytes_(d.node ? length_of<uint8_t>(d.node->sign_key, "sign key") : uint8_t{0}),
      kind_(d.kind) {
  char* out = append(bytes(), d.key);
  out = append(out, d.payload);
  out = append(out, d.signature);
  if (!d.node) return;
  out = append(out, d.node->endpoint);
  out = append(out, d.node->curve_key);
  out = append(out, d.node->sign_key);
  std::memcpy(out, &d.node->capacity_cores, sizeof(double));
  out[sizeof(double)] = d.node->left ? 1 : 0;
}

double Record::capacity_cores() const {
  double capacity = 0;
  std::memcpy(&capacity, node_scalars(), sizeof(capacity));
  return capacity;
}

bool Record::left() const { return node_scalars()[sizeof(double)] != 0; }

size_t Record::allocation_bytes() const {
  size_t bytes = sizeof(Record) + key_bytes_ + payload_bytes_ + signature_bytes_;
  if (is_node()) bytes += endpoint_bytes_ + curve_key_bytes_ + sign_key_bytes_ + kNodeScalarBytes;
  return bytes;
}

void Record::destroy(const Record* record) {
  record->~Record();
  ::operator delete(const_cast<Record*>(record));
}

RecordRef share(const RecordDraft& draft) {
  if ((draft.kind == RecordKind::Node) != draft.node.has_value())
    throw std::invalid_argument("a node record needs its NodeBody, a function record must not have one");
  const Fields fields = fields_of(draft);
  const uint64_t key_hash = draft.node ? node_key_hash(draft.key) : function_key_hash(draft.key);
  void* memory = ::operator new(sizeof(Record) + tail_bytes(fields));
  try {
    return RecordRef(new (memory) Record(draft, key_hash, stamp_hash_of(fields)));
  } catch (...) {
    ::operator delete(memory);
    throw;
  }
}

RecordDraft draft_of(const Record& r) {
  RecordDraft d{r.kind(), std::string(r.key()), r.author_fp, r.generation, r.version, std::string(r.payload()),
                std::nullopt, std::string(r.signature())};
  if (r.is_node())
    d.node = NodeBody{std::string(r.endpoint()), r.capacity_cores(), std::string(r.curve_key()),
                      std::string(r.sign_key()), r.left()};
  return d;
}

size_t record_bytes(const Record& r) { return heap_block_bytes(r.allocation_bytes()); }

}  // namespace antiphase::gossip
