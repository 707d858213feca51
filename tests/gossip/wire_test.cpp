#include <gtest/gtest.h>

#include <random>

#include "common/wire/codec.h"

using namespace antiphase::wire;

namespace {

Gossip sample_message() {
  Gossip message;
  message.mutable_from()->set_node_id("node-a");
  message.mutable_from()->set_endpoint("tcp://127.0.0.1:7946");
  message.mutable_from()->set_generation(7);
  message.mutable_digest()->add_origins(0x1234567890abcdefull);
  message.mutable_digest()->add_generations(3);
  message.mutable_digest()->add_max_versions(99);
  OriginDelta* delta = message.add_deltas();
  delta->set_origin("node-c");
  delta->set_max_version(12);
  FunctionRecord* record = delta->add_functions();
  record->set_function("resize-image");
  record->set_summary(std::string(200, '\x7f'));
  record->set_version(11);
  record->set_lamport(5);
  return message;
}

FrameError error_of(const std::string& frame, size_t cap = 1 << 20) {
  auto result = decode(frame, cap);
  EXPECT_TRUE(std::holds_alternative<FrameError>(result));
  return std::holds_alternative<FrameError>(result) ? std::get<FrameError>(result) : FrameError::TooShort;
}

}  // namespace

TEST(WireFrame, RoundTripsEveryField) {
  const std::string frame = encode(MessageType::Ack, sample_message());
  ASSERT_EQ(frame.size(), encoded_size(sample_message()));
  auto result = decode(frame, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Decoded>(result));
  const Decoded& decoded = std::get<Decoded>(result);
  EXPECT_EQ(decoded.type, MessageType::Ack);
  EXPECT_EQ(decoded.message.from().generation(), 7u);
  EXPECT_EQ(decoded.message.digest().max_versions(0), 99u);
  EXPECT_EQ(decoded.message.digest().origins(0), 0x1234567890abcdefull);
  EXPECT_EQ(decoded.message.deltas(0).functions(0).summary().size(), 200u);
  EXPECT_EQ(decoded.message.deltas(0).functions(0).lamport(), 5u);
}

TEST(WireFrame, HeaderIsBigEndianMagicVersionTypeLength) {
  const std::string frame = encode(MessageType::Syn, sample_message());
  EXPECT_EQ(frame.substr(0, 4), "APGS");
  EXPECT_EQ(frame[4], 1);
  EXPECT_EQ(frame[5], 1);
  const uint32_t length = (uint8_t(frame[8]) << 24) | (uint8_t(frame[9]) << 16) | (uint8_t(frame[10]) << 8) | uint8_t(frame[11]);
  EXPECT_EQ(length, frame.size() - kHeaderBytes);
}

TEST(WireFrame, RejectsEachHeaderFaultBeforeParsing) {
  const std::string good = encode(MessageType::Syn, sample_message());
  EXPECT_EQ(error_of(good.substr(0, 11)), FrameError::TooShort);
  std::string bad = good; bad[0] = 'X';
  EXPECT_EQ(error_of(bad), FrameError::BadMagic);
  bad = good; bad[4] = 2;
  EXPECT_EQ(error_of(bad), FrameError::BadVersion);
  bad = good; bad[5] = 9;
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
  bad = encode_header(MessageType::Syn, 3) + "\xff\xff\xff";
  EXPECT_EQ(error_of(bad), FrameError::BadPayload);
}

// A bounded in-test fuzz: random bytes and bit-flipped valid frames must never crash
// and a valid-header frame with garbage must end as BadPayload or decode.
TEST(WireFrame, SurvivesRandomAndMutatedInput) {
  std::mt19937_64 rng(1);
  const std::string good = encode(MessageType::Ack, sample_message());
  size_t decoded = 0, refused = 0;
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
    std::holds_alternative<Decoded>(result) ? ++decoded : ++refused;
  }
  EXPECT_EQ(decoded + refused, 50000u);
  EXPECT_GT(refused, 25000u);  // every random-bytes input lacks the magic
}

// Text fields are protobuf `bytes`: invalid UTF-8 from a hostile peer is just data
// (a `string` field would make libprotobuf log an error per message: log flooding).
TEST(WireFrame, InvalidUtf8InTextFieldsDecodesWithoutComplaint) {
  Gossip message = sample_message();
  message.mutable_from()->set_node_id("\xff\xfe\xc0");
  auto result = decode(encode(MessageType::Syn, message), 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Decoded>(result));
  EXPECT_EQ(std::get<Decoded>(result).message.from().node_id(), "\xff\xfe\xc0");
}
