#include "common/gossip/message_codec.h"

#include <cmath>
#include <cstring>

namespace antiphase::gossip {
namespace {

constexpr size_t kKeyBytes = 32, kSignatureBytes = 64;
constexpr uint32_t kMaxBuckets = 1u << 16;

// ---- sizes, mirroring protobuf's encoding (all our field numbers fit a 1-byte tag) ----

size_t varint_size(uint64_t value) {
  size_t bytes = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++bytes;
  }
  return bytes;
}
size_t bytes_field(size_t length) { return length ? 1 + varint_size(length) + length : 0; }
size_t varint_field(uint64_t value) { return value ? 1 + varint_size(value) : 0; }
size_t fixed64_field(uint64_t value) { return value ? 9 : 0; }
size_t message_field(size_t length) { return 1 + varint_size(length) + length; }
size_t packed_field(size_t payload) { return payload ? 1 + varint_size(payload) + payload : 0; }

size_t node_size(const Record& n) {
  const double capacity = n.capacity_cores();
  uint64_t capacity_bits = 0;
  std::memcpy(&capacity_bits, &capacity, sizeof(capacity_bits));
  return bytes_field(n.endpoint().size()) + fixed64_field(capacity_bits) + bytes_field(n.curve_key().size()) +
         bytes_field(n.sign_key().size()) + (n.left() ? 2 : 0);
}

size_t record_size(const Record& r) {
  const uint32_t cached = r.wire_bytes.load(std::memory_order_relaxed);
  if (cached) return cached;
  size_t size = varint_field(static_cast<uint64_t>(r.kind())) + bytes_field(r.key().size()) +
                fixed64_field(r.author_fp) + varint_field(r.generation) + varint_field(r.version) +
                bytes_field(r.payload().size()) + bytes_field(r.signature().size());
  if (r.is_node()) size += message_field(node_size(r));
  r.wire_bytes.store(static_cast<uint32_t>(size), std::memory_order_relaxed);
  return size;
}

uint32_t wire_state(PeerState state) { return static_cast<uint32_t>(state) + 1; }

size_t member_size(const MemberNews& m) {
  return fixed64_field(m.origin_fp) + varint_field(m.generation) + varint_field(m.version) +
         varint_field(wire_state(m.state)) + fixed64_field(m.from_fp);
}

size_t sender_size(const Sender& s) {
  return bytes_field(s.node_id.size()) + bytes_field(s.endpoint.size()) + bytes_field(s.public_key.size()) +
         varint_field(s.generation);
}

size_t target_size(const ProbeTarget& t) {
  return bytes_field(t.node_id.size()) + bytes_field(t.endpoint.size()) + bytes_field(t.public_key.size());
}

// ---- Message -> protobuf ----

void fill_record(const Record& r, wire::Record* out) {
  out->set_kind(static_cast<uint32_t>(r.kind()));
  out->set_key(r.key().data(), r.key().size());
  out->set_author(r.author_fp);
  out->set_generation(r.generation);
  out->set_version(r.version);
  out->set_payload(r.payload().data(), r.payload().size());
  out->set_signature(r.signature().data(), r.signature().size());
  if (r.is_node()) {
    wire::Node* node = out->mutable_node();
    node->set_endpoint(r.endpoint().data(), r.endpoint().size());
    node->set_capacity_cores(r.capacity_cores());
    node->set_curve_key(r.curve_key().data(), r.curve_key().size());
    node->set_sign_key(r.sign_key().data(), r.sign_key().size());
    node->set_left(r.left());
  }
}

// ---- protobuf -> Message, with every limit checked ----

struct Checker {
  const ProtocolConfig& limits;
  std::string* error;
  bool fail(const char* why) {
    if (error) *error = why;
    return false;
  }
  bool name_ok(const std::string& s) const { return s.size() <= limits.max_name_bytes; }
  static bool key_ok(const std::string& s) { return s.empty() || s.size() == kKeyBytes; }
};

bool read_record(const wire::Record& in, Checker& check, RecordRef* out) {
  if (in.kind() != static_cast<uint32_t>(RecordKind::Node) && in.kind() != static_cast<uint32_t>(RecordKind::Function))
    return check.fail("record of unknown kind");
  const bool is_node = in.kind() == static_cast<uint32_t>(RecordKind::Node);
  if (in.key().empty() || !check.name_ok(in.key())) return check.fail("record key empty or too long");
  if (in.payload().size() > check.limits.max_summary_bytes) return check.fail("record payload too long");
  if (!in.signature().empty() && in.signature().size() != kSignatureBytes) return check.fail("bad signature length");
  if (in.author() == 0) return check.fail("record without author");
  if (is_node != in.has_node()) return check.fail("node fields on the wrong record kind");
  // Views into the protobuf message: share() copies each field once, into the record.
  RecordFields record{.kind = static_cast<RecordKind>(in.kind()), .key = in.key(), .author_fp = in.author(),
                      .generation = in.generation(), .version = in.version(), .payload = in.payload(),
                      .signature = in.signature()};
  if (is_node) {
    const wire::Node& n = in.node();
    if (in.author() != fingerprint(in.key())) return check.fail("node record authored by someone else");
    if (!check.name_ok(n.endpoint()) || !Checker::key_ok(n.curve_key()) || !Checker::key_ok(n.sign_key()))
      return check.fail("node record field too long");
    if (!std::isfinite(n.capacity_cores()) || n.capacity_cores() < 0) return check.fail("bad capacity");
    record.endpoint = n.endpoint();
    record.curve_key = n.curve_key();
    record.sign_key = n.sign_key();
    record.capacity_cores = n.capacity_cores();
    record.left = n.left();
  }
  *out = share(record);
  return true;
}

bool read_members(const wire::Gossip& in, Checker& check, std::vector<MemberNews>* out) {
  out->reserve(in.members_size());
  for (const wire::Member& m : in.members()) {
    if (m.state() != wire_state(PeerState::Suspect) && m.state() != wire_state(PeerState::Dead))
      return check.fail("membership rumour of unknown state");
    out->push_back({m.origin(), m.generation(), m.version(), static_cast<PeerState>(m.state() - 1), m.from()});
  }
  return true;
}

bool read_anti_entropy(const wire::Gossip& in, Checker& check, Message* out) {
  if (in.ae_bucket_count() > kMaxBuckets) return check.fail("too many buckets");
  if (in.ae_hashes_size() != 0 && static_cast<uint32_t>(in.ae_hashes_size()) != in.ae_bucket_count())
    return check.fail("bucket hashes do not match the bucket count");
  if (in.ae_keys_size() != in.ae_stamps_size()) return check.fail("anti-entropy arrays of unequal length");
  out->ae_bucket_count = in.ae_bucket_count();
  out->ae_hashes.assign(in.ae_hashes().begin(), in.ae_hashes().end());
  for (const uint32_t bucket : in.ae_buckets())
    if (bucket >= in.ae_bucket_count()) return check.fail("bucket index out of range");
  out->ae_buckets.assign(in.ae_buckets().begin(), in.ae_buckets().end());
  out->ae_entries.reserve(in.ae_keys_size());
  for (int i = 0; i < in.ae_keys_size(); ++i) out->ae_entries.push_back({in.ae_keys(i), in.ae_stamps(i)});
  return true;
}

}  // namespace

wire::Gossip to_wire(const Message& m) {
  wire::Gossip out;
  wire::Sender* from = out.mutable_from();
  from->set_node_id(m.from.node_id);
  from->set_endpoint(m.from.endpoint);
  from->set_public_key(m.from.public_key);
  from->set_generation(m.from.generation);
  out.set_seq(m.seq);
  out.set_incarnation_generation(m.incarnation_generation);
  out.set_incarnation_version(m.incarnation_version);
  if (m.type == MessageType::PingReq) {
    wire::Target* target = out.mutable_target();
    target->set_node_id(m.target.node_id);
    target->set_endpoint(m.target.endpoint);
    target->set_public_key(m.target.public_key);
  }
  for (const NewsItem& item : m.news) {
    out.add_news_keys(item.key_hash);
    out.add_news_stamps(item.stamp_hash);
  }
  for (const MemberNews& item : m.members) {
    wire::Member* member = out.add_members();
    member->set_origin(item.origin_fp);
    member->set_generation(item.generation);
    member->set_version(item.version);
    member->set_state(wire_state(item.state));
    member->set_from(item.from_fp);
  }
  for (const uint64_t key : m.pull) out.add_pull(key);
  for (const RecordRef& record : m.records) fill_record(*record, out.add_records());
  out.set_ae_bucket_count(m.ae_bucket_count);
  for (const uint32_t hash : m.ae_hashes) out.add_ae_hashes(hash);
  for (const uint32_t bucket : m.ae_buckets) out.add_ae_buckets(bucket);
  for (const NewsItem& item : m.ae_entries) {
    out.add_ae_keys(item.key_hash);
    out.add_ae_stamps(item.stamp_hash);
  }
  return out;
}

std::optional<Message> from_wire(MessageType type, const wire::Gossip& in, const ProtocolConfig& limits,
                                 std::string* error) {
  Checker check{limits, error};
  Message m;
  m.type = type;
  const wire::Sender& from = in.from();
  if (from.node_id().empty() || !check.name_ok(from.node_id()) || !check.name_ok(from.endpoint()) ||
      !Checker::key_ok(from.public_key())) {
    check.fail("sender missing or malformed");
    return std::nullopt;
  }
  m.from = Sender{from.node_id(), from.generation(), from.endpoint(), from.public_key()};
  m.seq = in.seq();
  m.incarnation_generation = in.incarnation_generation();
  m.incarnation_version = in.incarnation_version();
  const wire::Target& target = in.target();
  if (!check.name_ok(target.node_id()) || !check.name_ok(target.endpoint()) || !Checker::key_ok(target.public_key())) {
    check.fail("probe target malformed");
    return std::nullopt;
  }
  m.target = ProbeTarget{target.node_id(), target.endpoint(), target.public_key()};
  if (in.news_keys_size() != in.news_stamps_size()) {
    check.fail("news arrays of unequal length");
    return std::nullopt;
  }
  m.news.reserve(in.news_keys_size());
  for (int i = 0; i < in.news_keys_size(); ++i) m.news.push_back({in.news_keys(i), in.news_stamps(i)});
  if (!read_members(in, check, &m.members)) return std::nullopt;
  m.pull.assign(in.pull().begin(), in.pull().end());
  m.records.reserve(in.records_size());
  for (const wire::Record& record : in.records()) {
    RecordRef ref;
    if (!read_record(record, check, &ref)) return std::nullopt;
    m.records.push_back(std::move(ref));
  }
  if (!read_anti_entropy(in, check, &m)) return std::nullopt;
  return m;
}

size_t record_wire_size(const Record& record) { return message_field(record_size(record)); }

std::string encode(const Message& message) { return wire::encode(message.type, to_wire(message)); }

size_t encoded_size(const Message& m) {
  size_t size = message_field(sender_size(m.from)) + varint_field(m.seq) + varint_field(m.incarnation_generation) +
                varint_field(m.incarnation_version);
  if (m.type == MessageType::PingReq) size += message_field(target_size(m.target));
  size += packed_field(8 * m.news.size()) + packed_field(4 * m.news.size());
  for (const MemberNews& member : m.members) size += message_field(member_size(member));
  size += packed_field(8 * m.pull.size());
  for (const RecordRef& record : m.records) size += message_field(record_size(*record));
  size += varint_field(m.ae_bucket_count) + packed_field(4 * m.ae_hashes.size());
  size_t buckets = 0;
  for (const uint32_t bucket : m.ae_buckets) buckets += varint_size(bucket);
  size += packed_field(buckets) + packed_field(8 * m.ae_entries.size()) + packed_field(4 * m.ae_entries.size());
  return wire::kHeaderBytes + size;
}

}  // namespace antiphase::gossip
