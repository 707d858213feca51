// The frame header, the protobuf payload and the Message codec (common/gossip/message_codec.h).
#include <gtest/gtest.h>

#include <random>

#include "common/gossip/message_codec.h"
#include "common/wire/codec.h"

using namespace antiphase::wire;
namespace g = antiphase::gossip;

namespace {

g::RecordRef function_record(const std::string& name, size_t summary_bytes, uint64_t lamport) {
  return g::share(g::RecordDraft{.kind = g::RecordKind::Function, .key = name, .author_fp = g::fingerprint("node-c"),
                                 .generation = 3, .version = lamport, .payload = std::string(summary_bytes, '\x7f'),
                                 .signature = std::string(64, 's')});
}

g::RecordRef node_record(const std::string& id, bool left) {
  return g::share(g::RecordDraft{
      .kind = g::RecordKind::Node, .key = id, .author_fp = g::fingerprint(id), .generation = 1700000000, .version = 9,
      .payload = "host-shape",
      .node = g::NodeBody{"tcp://10.0.0.3:7946", 32.5, std::string(32, 'c'), std::string(32, 'e'), left},
      .signature = std::string(64, 'z')});
}

g::Message sample_message() {
  g::Message m;
  m.type = MessageType::Push;
  m.from = g::Sender{"node-a", 7, "tcp://127.0.0.1:7946", std::string(32, 'k')};
  m.seq = 4242;
  m.news = {{0x1234567890abcdefull, 77}, {42, 0}};
  m.members = {{g::fingerprint("node-b"), 3, 12, g::PeerState::Suspect, g::fingerprint("node-a")}};
  m.pull = {1, 2, 0xffffffffffffffffull};
  m.records = {function_record("resize-image", 200, 5), node_record("node-c", false)};
  return m;
}

g::Message decoded(const std::string& frame) {
  auto result = decode(frame, 1 << 20);
  EXPECT_TRUE(std::holds_alternative<Decoded>(result));
  const Decoded& d = std::get<Decoded>(result);
  std::string error;
  auto message = g::from_wire(d.type, d.message, g::ProtocolConfig{}, &error);
  EXPECT_TRUE(message.has_value()) << error;
  return message.value_or(g::Message{});
}

FrameError error_of(const std::string& frame, size_t cap = 1 << 20) {
  auto result = decode(frame, cap);
  EXPECT_TRUE(std::holds_alternative<FrameError>(result));
  return std::holds_alternative<FrameError>(result) ? std::get<FrameError>(result) : FrameError::TooShort;
}

}  // namespace

TEST(WireFrame, RoundTripsEveryField) {
  const std::string frame = g::encode(sample_message());
  ASSERT_EQ(frame.size(), g::encoded_size(sample_message()));
  const g::Message m = decoded(frame);
  EXPECT_EQ(m.type, MessageType::Push);
  EXPECT_EQ(m.from.generation, 7u);
  EXPECT_EQ(m.seq, 4242u);
  ASSERT_EQ(m.news.size(), 2u);
  EXPECT_EQ(m.news[0].key_hash, 0x1234567890abcdefull);
  EXPECT_EQ(m.news[0].stamp_hash, 77u);
  ASSERT_EQ(m.members.size(), 1u);
  EXPECT_EQ(m.members[0].state, g::PeerState::Suspect);
  EXPECT_EQ(m.members[0].version, 12u);
  EXPECT_EQ(m.pull.back(), 0xffffffffffffffffull);
  ASSERT_EQ(m.records.size(), 2u);
  EXPECT_EQ(m.records[0]->payload().size(), 200u);
  EXPECT_EQ(m.records[0]->version, 5u);
  EXPECT_EQ(m.records[0]->stamp_hash, sample_message().records[0]->stamp_hash) << "same record, same identity";
  EXPECT_EQ(m.records[1]->capacity_cores(), 32.5);
  EXPECT_EQ(m.records[1]->sign_key(), std::string(32, 'e'));
  EXPECT_EQ(g::signing_bytes(*m.records[1]), g::signing_bytes(*sample_message().records[1]));
}

// The simulator counts bytes with encoded_size() instead of encoding 10^6 messages a
// second; it must agree with the real encoder byte for byte.
TEST(WireFrame, EncodedSizeMatchesTheEncoderForRandomMessages) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 500; ++i) {
    g::Message m;
    m.type = static_cast<MessageType>(1 + rng() % kMaxMessageType);
    m.from = g::Sender{std::string(rng() % 30, 'n'), rng() % 3 ? rng() : 0, std::string(rng() % 40, 'e'),
                       rng() % 2 ? std::string(32, 'k') : ""};
    m.seq = rng() % 2 ? static_cast<uint32_t>(rng()) : 0;
    m.incarnation_generation = rng() % 2 ? rng() % 100000 : 0;
    m.incarnation_version = rng() % 300;
    m.target = g::ProbeTarget{std::string(rng() % 20, 't'), std::string(rng() % 20, 'u'), ""};
    for (int n = rng() % 5; n > 0; --n) m.news.push_back({rng(), static_cast<uint32_t>(rng())});
    for (int n = rng() % 3; n > 0; --n)
      m.members.push_back({rng(), rng() % 1000, rng() % 5, rng() % 2 ? g::PeerState::Dead : g::PeerState::Suspect, rng()});
    for (int n = rng() % 4; n > 0; --n) m.pull.push_back(rng());
    for (int n = rng() % 4; n > 0; --n)
      m.records.push_back(rng() % 2 ? function_record("fn-" + std::to_string(rng() % 1000), rng() % 300, rng() % 100000)
                                    : node_record("w-" + std::to_string(rng() % 100), rng() % 2));
    if (rng() % 2) {
      m.ae_bucket_count = 1 + rng() % 300;
      m.ae_hashes.resize(m.ae_bucket_count);
      for (auto& h : m.ae_hashes) h = static_cast<uint32_t>(rng());
      for (int n = rng() % 4; n > 0; --n) m.ae_buckets.push_back(static_cast<uint32_t>(rng() % m.ae_bucket_count));
      for (int n = rng() % 5; n > 0; --n) m.ae_entries.push_back({rng(), static_cast<uint32_t>(rng())});
    }
    ASSERT_EQ(g::encoded_size(m), g::encode(m).size()) << "message " << i;
  }
}

TEST(WireFrame, HeaderIsBigEndianMagicVersionTypeLength) {
  const std::string frame = g::encode(sample_message());
  EXPECT_EQ(frame.substr(0, 4), "APGS");
  EXPECT_EQ(frame[4], 2);
  EXPECT_EQ(frame[5], static_cast<char>(MessageType::Push));
  const uint32_t length = (uint8_t(frame[8]) << 24) | (uint8_t(frame[9]) << 16) | (uint8_t(frame[10]) << 8) | uint8_t(frame[11]);
  EXPECT_EQ(length, frame.size() - kHeaderBytes);
}

TEST(WireFrame, RejectsEachHeaderFaultBeforeParsing) {
  const std::string good = g::encode(sample_message());
  EXPECT_EQ(error_of(good.substr(0, 11)), FrameError::TooShort);
  std::string bad = good; bad[0] = 'X';
  EXPECT_EQ(error_of(bad), FrameError::BadMagic);
  bad = good; bad[4] = 1;
  EXPECT_EQ(error_of(bad), FrameError::BadVersion) << "version 1 (Scuttlebutt) frames are refused";
  bad = good; bad[5] = 11;
  EXPECT_EQ(error_of(bad), FrameError::BadType);
  bad = good; bad[5] = 0;
  EXPECT_EQ(error_of(bad), FrameError::BadType);
  bad = good; bad[7] = 1;
  EXPECT_EQ(error_of(bad), FrameError::BadFlags);
  EXPECT_EQ(error_of(good + "x"), FrameError::LengthMismatch);
  EXPECT_EQ(error_of(good.substr(0, good.size() - 1)), FrameError::LengthMismatch);
  EXPECT_EQ(error_of(good, good.size() - 1), FrameError::Oversize);
  // A header claiming 4 GiB is refused on the header alone.
  bad = good.substr(0, kHeaderBytes); bad[8] = bad[9] = bad[10] = bad[11] = '\xff';
  EXPECT_EQ(error_of(bad), FrameError::Oversize);
  bad = encode_header(MessageType::Ping, 3) + "\xff\xff\xff";
  EXPECT_EQ(error_of(bad), FrameError::BadPayload);
}

TEST(WireMessage, FromWireRefusesFieldsOverTheLimits) {
  g::ProtocolConfig limits;
  limits.max_summary_bytes = 256;
  limits.max_name_bytes = 64;
  auto refused = [&](const g::Message& m) {
    auto result = decode(g::encode(m), 1 << 20);
    const Decoded& d = std::get<Decoded>(result);
    std::string error;
    const bool ok = g::from_wire(d.type, d.message, limits, &error).has_value();
    return !ok && !error.empty();
  };
  EXPECT_FALSE(refused(sample_message()));
  g::Message m = sample_message();
  m.records = {function_record("f", 257, 1)};
  EXPECT_TRUE(refused(m)) << "summary over max_summary_bytes";
  m = sample_message();
  m.records = {function_record(std::string(65, 'f'), 10, 1)};
  EXPECT_TRUE(refused(m)) << "name over max_name_bytes";
  m = sample_message();
  m.from.node_id.clear();
  EXPECT_TRUE(refused(m)) << "no sender";
  m = sample_message();
  m.from.public_key = "short";
  EXPECT_TRUE(refused(m)) << "key of the wrong size";
  // A node record whose author fingerprint is not its own id: someone writing for another node.
  Gossip raw = g::to_wire(sample_message());
  raw.mutable_records(1)->set_author(g::fingerprint("node-x"));
  EXPECT_FALSE(g::from_wire(MessageType::Push, raw, limits).has_value());
  raw = g::to_wire(sample_message());
  raw.mutable_records(0)->set_signature("too short");
  EXPECT_FALSE(g::from_wire(MessageType::Push, raw, limits).has_value());
  raw = g::to_wire(sample_message());
  raw.add_news_stamps(1);  // parallel arrays of unequal length
  EXPECT_FALSE(g::from_wire(MessageType::Push, raw, limits).has_value());
  raw = g::to_wire(sample_message());
  raw.mutable_members(0)->set_state(9);
  EXPECT_FALSE(g::from_wire(MessageType::Push, raw, limits).has_value());
  raw = g::to_wire(sample_message());
  raw.mutable_records(1)->mutable_node()->set_capacity_cores(std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(g::from_wire(MessageType::Push, raw, limits).has_value());
}

// A bounded in-test fuzz: random bytes and bit-flipped valid frames must never crash the
// frame decoder or the message decoder behind it.
TEST(WireFrame, SurvivesRandomAndMutatedInput) {
  std::mt19937_64 rng(1);
  const std::string good = g::encode(sample_message());
  size_t accepted = 0, refused = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % 400);
      for (char& c : input) c = static_cast<char>(rng());
    } else {
      input = good;
      for (int flips = 1 + rng() % 4; flips > 0; --flips) input[kHeaderBytes + rng() % (input.size() - kHeaderBytes)] ^= char(1 << (rng() % 8));
    }
    auto result = decode(input, 1 << 16);
    const Decoded* d = std::get_if<Decoded>(&result);
    const bool ok = d && g::from_wire(d->type, d->message, g::ProtocolConfig{}).has_value();
    ok ? ++accepted : ++refused;
  }
  EXPECT_EQ(accepted + refused, 50000u);
  EXPECT_GT(refused, 25000u);  // every random-bytes input lacks the magic
}

// Text fields are protobuf `bytes`: invalid UTF-8 from a hostile peer is just data
// (a `string` field would make libprotobuf log an error per message: log flooding).
TEST(WireFrame, InvalidUtf8InTextFieldsDecodesWithoutComplaint) {
  g::Message message = sample_message();
  message.from.node_id = "\xff\xfe\xc0";
  EXPECT_EQ(decoded(g::encode(message)).from.node_id, "\xff\xfe\xc0");
}
