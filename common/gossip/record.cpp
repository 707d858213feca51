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

// A frozen record read back as views: signing and hashing read records and drafts alike.
RecordFields fields_of(const Record& r) {
  RecordFields f{.kind = r.kind(), .key = r.key(), .author_fp = r.author_fp, .generation = r.generation,
                 .version = r.version, .payload = r.payload(), .signature = r.signature()};
  if (!r.is_node()) return f;
  f.endpoint = r.endpoint();
  f.curve_key = r.curve_key();
  f.sign_key = r.sign_key();
  f.capacity_cores = r.capacity_cores();
  f.left = r.left();
  return f;
}

uint32_t stamp_hash_of(const RecordFields& r) {
  uint64_t stamp = fnv_u64(r.author_fp, kFnvOffset);
  stamp = fnv_u64(r.generation, stamp);
  stamp = fnv_u64(r.version, stamp);
  stamp = fnv(r.payload, stamp);
  stamp = fnv(r.signature, stamp);
  if (r.is_node()) stamp = fnv(r.endpoint, fnv_u64(r.left, stamp));
  return static_cast<uint32_t>(stamp ^ (stamp >> 32));
}

// The header keeps 16-bit lengths for names and 8-bit ones for keys and signatures: a
// record beyond them is a caller's bug (the decoder and our writes cap names at
// max_name_bytes, keys at 32 bytes, signatures at 64).
template <typename Length>
Length length_of(std::string_view field, const char* what) {
  if (field.size() > std::numeric_limits<Length>::max())
    throw std::length_error(std::string("record field too long for its header: ") + what);
  return static_cast<Length>(field.size());
}

size_t tail_bytes(const RecordFields& f) {
  size_t bytes = f.key.size() + f.payload.size() + f.signature.size();
  if (f.is_node()) bytes += f.endpoint.size() + f.curve_key.size() + f.sign_key.size() + kNodeScalarBytes;
  return bytes;
}

char* append(char* out, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

// A node record's part of the tail, in the order Record's accessors read it.
void append_node(char* out, const RecordFields& f) {
  out = append(append(append(out, f.endpoint), f.curve_key), f.sign_key);
  std::memcpy(out, &f.capacity_cores, sizeof(double));
  out[sizeof(double)] = f.left ? 1 : 0;
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

RecordFields fields_of(const RecordDraft& d) {
  RecordFields f{.kind = d.kind, .key = d.key, .author_fp = d.author_fp, .generation = d.generation,
                 .version = d.version, .payload = d.payload, .signature = d.signature};
  if (!d.node) return f;
  f.endpoint = d.node->endpoint;
  f.curve_key = d.node->curve_key;
  f.sign_key = d.node->sign_key;
  f.capacity_cores = d.node->capacity_cores;
  f.left = d.node->left;
  return f;
}

std::string signing_bytes(const RecordFields& r) {
  std::string out;
  out.reserve(kSigningDomain.size() + r.key.size() + r.payload.size() + 160);
  out.append(kSigningDomain);
  out.push_back(static_cast<char>(r.kind));
  put_bytes(out, r.key);
  put_u64(out, r.author_fp);
  put_u64(out, r.generation);
  put_u64(out, r.version);
  put_bytes(out, r.payload);
  if (r.is_node()) {
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

std::string signing_bytes(const RecordDraft& draft) { return signing_bytes(fields_of(draft)); }
std::string signing_bytes(const Record& record) { return signing_bytes(fields_of(record)); }

bool supersedes(const Record& a, const Record& b) {
  if (a.is_node()) return std::tie(a.generation, a.version) > std::tie(b.generation, b.version);
  return std::tie(a.version, a.author_fp) > std::tie(b.version, b.author_fp);
}

Record::Record(const RecordFields& f, uint64_t key_hash_, uint32_t stamp_hash_)
    : author_fp(f.author_fp), generation(f.generation), version(f.version), key_hash(key_hash_),
      stamp_hash(stamp_hash_), payload_bytes_(length_of<uint32_t>(f.payload, "payload")),
      key_bytes_(length_of<uint16_t>(f.key, "key")),
      endpoint_bytes_(f.is_node() ? length_of<uint16_t>(f.endpoint, "endpoint") : uint16_t{0}),
      signature_bytes_(length_of<uint8_t>(f.signature, "signature")),
      curve_key_bytes_(f.is_node() ? length_of<uint8_t>(f.curve_key, "curve key") : uint8_t{0}),
      sign_key_bytes_(f.is_node() ? length_of<uint8_t>(f.sign_key, "sign key") : uint8_t{0}),
      kind_(f.kind) {
  char* out = append(append(append(bytes(), f.key), f.payload), f.signature);
  if (f.is_node()) append_node(out, f);
}

double Record::capacity_cores() const {
  double capacity = 0;
  std::memcpy(&capacity, node_scalars(), sizeof(capacity));
  return capacity;
}

bool Record::left() const { return node_scalars()[sizeof(double)] != 0; }

size_t Record::allocation_bytes() const { return sizeof(Record) + tail_bytes(fields_of(*this)); }

void Record::destroy(const Record* record) {
  record->~Record();
  ::operator delete(const_cast<Record*>(record));
}

RecordRef share(const RecordFields& fields) {
  const uint64_t key_hash = fields.is_node() ? node_key_hash(fields.key) : function_key_hash(fields.key);
  void* memory = ::operator new(sizeof(Record) + tail_bytes(fields));
  try {
    return RecordRef(new (memory) Record(fields, key_hash, stamp_hash_of(fields)));
  } catch (...) {
    ::operator delete(memory);
    throw;
  }
}

RecordRef share(const RecordDraft& draft) {
  if ((draft.kind == RecordKind::Node) != draft.node.has_value())
    throw std::invalid_argument("a node record needs its NodeBody, a function record must not have one");
  return share(fields_of(draft));
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
