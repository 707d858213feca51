#include "common/gossip/record.h"

#include <cstring>
#include <tuple>

namespace antiphase::gossip {
namespace {

constexpr std::string_view kSigningDomain = "antiphase-gossip-record-v2";
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;
// malloc headers, std::string objects, the atomics and the unique_ptr.
constexpr size_t kRecordOverheadBytes = 224;

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

}  // namespace

uint64_t node_key_hash(std::string_view node_id) { return nonzero(fingerprint(node_id)); }

uint64_t function_key_hash(std::string_view function) {
  // A different starting point than node ids, so a function and a node never share a key.
  return nonzero(fnv(function, fnv("function\x1f")));
}

std::string signing_bytes(const Record& r) {
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
    const NodeBody& n = r.body();
    put_bytes(out, n.endpoint);
    uint64_t capacity_bits = 0;
    std::memcpy(&capacity_bits, &n.capacity_cores, sizeof(capacity_bits));
    put_u64(out, capacity_bits);
    put_bytes(out, n.curve_key);
    put_bytes(out, n.sign_key);
    out.push_back(n.left ? 1 : 0);
  }
  return out;
}

bool supersedes(const Record& a, const Record& b) {
  if (a.is_node()) return std::tie(a.generation, a.version) > std::tie(b.generation, b.version);
  return std::tie(a.version, a.author_fp) > std::tie(b.version, b.author_fp);
}

RecordRef share(std::unique_ptr<Record> record) {
  record->key_hash = record->is_node() ? node_key_hash(record->key) : function_key_hash(record->key);
  uint64_t stamp = fnv_u64(record->author_fp, kFnvOffset);
  stamp = fnv_u64(record->generation, stamp);
  stamp = fnv_u64(record->version, stamp);
  stamp = fnv(record->payload, stamp);
  stamp = fnv(record->signature, stamp);
  if (record->is_node()) stamp = fnv(record->body().endpoint, fnv_u64(record->body().left, stamp));
  record->stamp_hash = static_cast<uint32_t>(stamp ^ (stamp >> 32));
  return RecordRef(record.release());
}

size_t record_bytes(const Record& r) {
  size_t bytes = kRecordOverheadBytes + r.key.size() + r.payload.size() + r.signature.size();
  if (r.is_node()) bytes += sizeof(NodeBody) + r.body().endpoint.size() + r.body().curve_key.size() + r.body().sign_key.size();
  return bytes;
}

}  // namespace antiphase::gossip
