// Gossip summaries: round trip, size cap, reconstruction accuracy, and a decoder
// that rejects every truncation and corruption with a message.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "common/shape/shape.h"
#include "tests/shape/synthetic.h"

namespace antiphase::shape {
namespace {

using namespace testing;

ShapeModel diurnal_model() {
  ShapeModel model;
  feed(model, diurnal(9, 3.0, 2.0), 2, 60);
  return model;
}

TEST(Summary, RoundTrip) {
  const ShapeModel model = diurnal_model();
  const Summary summary = summarize("checkout-api", model, 3, 17);
  std::string error;
  const std::string bytes = encode(summary, &error);
  ASSERT_FALSE(bytes.empty()) << error;
  const auto decoded = decode(bytes, &error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->function, "checkout-api");
  EXPECT_EQ(decoded->instances, 3u);
  EXPECT_EQ(decoded->version, 17u);
  EXPECT_EQ(decoded->samples, model.samples());
  EXPECT_FLOAT_EQ(decoded->confidence, 1.0f);
  EXPECT_FLOAT_EQ(decoded->mean, static_cast<float>(model.mean()));
  EXPECT_FLOAT_EQ(decoded->peak, static_cast<float>(model.peak()));
  EXPECT_EQ(decoded->mean_q, summary.mean_q);
  EXPECT_EQ(decoded->spread_q, summary.spread_q);
  EXPECT_EQ(decoded->mean_error_l2, summary.mean_error_l2);
}

TEST(Summary, ReconstructsPerSlotMeanAndSpreadWithinHalfAStep) {
  const ShapeModel model = diurnal_model();
  const Summary summary = *decode(encode(summarize("f", model, 1, 1)));
  const SlotProfile truth = model.day_profile(), approx = reconstruct_day(summary);
  ASSERT_EQ(approx.slots(), 96u);
  double error_energy = 0;
  for (size_t w = 0; w < 96; ++w) {
    EXPECT_LE(std::abs(approx.mean[w] - truth.mean[w]), summary.mean_step * 0.5001) << w;
    EXPECT_LE(std::abs(approx.spread[w] - truth.spread[w]), summary.spread_step * 0.5001 + 1e-9) << w;
    EXPECT_LE(approx.peak[w], summary.peak + 1e-6);
    error_energy += (approx.mean[w] - truth.mean[w]) * (approx.mean[w] - truth.mean[w]);
  }
  EXPECT_LE(std::sqrt(error_energy), summary.mean_error_l2);
  // 5 bits over a 4-core range: steps of 4/31 = 0.129 cores.
  EXPECT_LT(summary.mean_step, 0.14);
  EXPECT_GT(summary.mean_step, 0.11);
}

TEST(Summary, WorstCaseFitsIn256Bytes) {
  ShapeModel model = diurnal_model();
  Summary summary = summarize(std::string(kMaxFunctionNameBytes, 'x'), model, UINT32_MAX, UINT64_MAX);
  summary.samples = UINT64_MAX;
  summary.mean_offset = 1e30f;  // every float field non-zero (5 bytes each)
  std::string error;
  const std::string bytes = encode(summary, &error);
  ASSERT_FALSE(bytes.empty()) << error;
  EXPECT_LE(bytes.size(), kMaxSummaryBytes);
  EXPECT_GE(bytes.size(), kMaxSummaryBytes - 2);  // really the worst case
  EXPECT_TRUE(decode(bytes, &error)) << error;
}

TEST(Summary, LongNamesAreRefusedWithAReason) {
  Summary summary = summarize("f", diurnal_model(), 1, 1);
  summary.function = std::string(kMaxFunctionNameBytes + 1, 'n');
  std::string error;
  EXPECT_TRUE(encode(summary, &error).empty());
  EXPECT_NE(error.find("64"), std::string::npos) << error;
  // summarize() itself caps the name so its output always encodes.
  const Summary capped = summarize(std::string(300, 'n'), diurnal_model(), 1, 1);
  EXPECT_EQ(capped.function.size(), kMaxFunctionNameBytes);
  EXPECT_FALSE(encode(capped).empty());
  summary.function.clear();
  EXPECT_TRUE(encode(summary, &error).empty());
}

TEST(Summary, OtherDaySlotCountsAreResampledTo96) {
  ShapeConfig config;
  config.day = {48, 86400};  // 30-minute slots
  ShapeModel model(config);
  feed(model, diurnal(3), 2);
  const Summary summary = *decode(encode(summarize("f", model, 1, 1)));
  ASSERT_EQ(summary.mean_q.size(), 96u);
  const SlotProfile coarse = model.day_profile(), approx = reconstruct_day(summary);
  for (size_t w = 0; w < 96; ++w) EXPECT_NEAR(approx.mean[w], coarse.mean[w / 2], summary.mean_step * 0.5001) << w;
}

TEST(Summary, NonDayFoldGivesNoProfile) {
  ShapeConfig config;
  config.day = {96, 43200};  // a "day" of 12 hours cannot be aligned with peers' days
  ShapeModel model(config);
  feed(model, diurnal(3), 1);
  const Summary summary = *decode(encode(summarize("f", model, 1, 1)));
  EXPECT_TRUE(summary.mean_q.empty());
  const SlotProfile approx = reconstruct_day(summary);
  EXPECT_EQ(approx.slots(), 96u);
  EXPECT_FLOAT_EQ(approx.mean[10], summary.mean);
  EXPECT_EQ(correlate(embedding_of(summary), diurnal_model().embedding()).bound, 1.0);
}

TEST(Summary, RejectsEveryTruncation) {
  const std::string bytes = encode(summarize("payments-worker", diurnal_model(), 2, 99));
  for (size_t length = 0; length < bytes.size(); ++length) {
    std::string error;
    EXPECT_FALSE(decode(std::string_view(bytes).substr(0, length), &error)) << length;
    EXPECT_FALSE(error.empty()) << length;
  }
}

TEST(Summary, RejectsRandomCorruptionWithoutCrashing) {
  const std::string bytes = encode(summarize("payments-worker", diurnal_model(), 2, 99));
  std::mt19937 rng(11);
  size_t rejected = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string garbled = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) garbled[rng() % garbled.size()] ^= static_cast<char>(1 + rng() % 255);
    std::string error;
    if (!decode(garbled, &error)) {
      EXPECT_FALSE(error.empty());
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, 20000u);  // CRC32 catches all of these
  // Pure noise of every length, including oversize.
  for (size_t length = 0; length < 400; ++length) {
    std::string noise(length, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    std::string error;
    EXPECT_FALSE(decode(noise, &error));
    EXPECT_FALSE(error.empty());
  }
}

TEST(Summary, NamesAreOpaqueBytes) {
  const std::string name("fn\xff\xfe\0x", 6);  // not UTF-8, embedded NUL
  const auto decoded = decode(encode(summarize(name, diurnal_model(), 1, 1)));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->function, name);
}

TEST(Summary, RejectsUnknownFormat) {
  std::string bytes = encode(summarize("f", diurnal_model(), 1, 1));
  bytes[0] = 2;
  std::string error;
  EXPECT_FALSE(decode(bytes, &error));
  EXPECT_NE(error.find("format"), std::string::npos) << error;
}

TEST(Summary, SignificantChange) {
  ShapeModel model = diurnal_model();
  const Summary before = summarize("f", model, 1, 1);
  EXPECT_FALSE(significantly_changed(before, before, 0.05));
  Summary more_instances = before;
  more_instances.instances = 2;
  EXPECT_TRUE(significantly_changed(before, more_instances, 0.05));
  // A few more samples of the same shape: no republish.
  feed(model, diurnal(9, 3.0, 2.0), 0.1, 60, kStart + 2 * kDay);
  EXPECT_FALSE(significantly_changed(before, summarize("f", model, 1, 2), 0.1));
  // A week of the opposite phase: republish.
  feed(model, diurnal(21, 3.0, 2.0), 7, 300, kStart + 3 * kDay);
  EXPECT_TRUE(significantly_changed(before, summarize("f", model, 1, 3), 0.1));
}

}  // namespace
}  // namespace antiphase::shape
