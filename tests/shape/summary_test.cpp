// Gossip summaries: round trip, size cap, reconstruction accuracy, and a decoder
// that rejects every truncation and corruption with a message.
#include <gtest/gtest.h>
#include <zlib.h>

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

TEST(Summary, HighestUseTravelsRoundedUpAndOlderSummariesFallBackToThePeak) {
  ShapeModel model = diurnal_model();
  model.add_sample(kStart + 3 * kDay, 7.3, 60);
  const Summary summary = summarize("batch", model, 1, 1);
  const auto decoded = decode(encode(summary));
  ASSERT_TRUE(decoded && decoded->highest);
  EXPECT_GE(*decoded->highest, 7.3f);
  EXPECT_LE(*decoded->highest, 7.3f * 1.000001f);
  EXPECT_GE(highest_of(*decoded), 7.3);
  Summary older = summary;
  older.highest.reset();  // as from an agent before it existed
  const auto old_decoded = decode(encode(older));
  ASSERT_TRUE(old_decoded);
  EXPECT_FALSE(old_decoded->highest);
  EXPECT_DOUBLE_EQ(highest_of(*old_decoded), old_decoded->peak);
  Summary bad = summary;
  bad.highest = -1.0f;
  std::string error;
  EXPECT_TRUE(encode(bad, &error).empty());
  EXPECT_NE(error.find("highest"), std::string::npos) << error;
}

// With shape.highest_window the summary says when its highest was seen (the hour, rounded
// up), so a receiver forgets a burst when its source does, and a time handed on from
// host to host does not move.
TEST(Summary, AWindowedHighestTravelsWithTheHourItWasSeen) {
  ShapeConfig config;
  config.highest_window_s = 4 * kDay;
  config.highest_window_after_relief = false;
  ShapeModel model(config);
  feed(model, diurnal(8), 2, 300);
  model.add_sample(kStart + 2 * kDay + 1800, 7.3, 60);  // 00:30 on day 2
  feed(model, [](int64_t) { return 0.1; }, 0.5, 300, kStart + 2 * kDay + 3600);
  const auto decoded = decode(encode(summarize("batch", model, 1, 1)));
  ASSERT_TRUE(decoded && decoded->highest && decoded->highest_seen_hour);
  EXPECT_EQ(*decoded->highest_seen_hour, (kStart + 2 * kDay) / 3600 + 1);
  const int64_t now = kStart + 3 * kDay;
  EXPECT_EQ(highest_seen_s(*decoded, now), kStart + 2 * kDay + 3600);
  // A receiver that republishes it: the same hour.
  ShapeModel receiver(config);
  ASSERT_TRUE(receiver.seed(reconstruct_day(*decoded), kDay, 10, {}, now, highest_of(*decoded), highest_seen_s(*decoded, now)));
  const auto again = decode(encode(summarize("batch", receiver, 1, 2)));
  ASSERT_TRUE(again && again->highest_seen_hour);
  EXPECT_EQ(*again->highest_seen_hour, *decoded->highest_seen_hour);
  // Unknown (an older agent, or one that keeps it for good) or in the future: now.
  Summary undated = *decoded;
  undated.highest_seen_hour.reset();
  EXPECT_EQ(highest_seen_s(undated, now), now);
  Summary ahead = *decoded;
  ahead.highest_seen_hour = now / 3600 + 5;
  EXPECT_EQ(highest_seen_s(ahead, now), now);
  ShapeConfig for_good;
  for_good.highest_window_s = 0;
  EXPECT_FALSE(summarize("batch", ShapeModel(for_good), 1, 1).highest_seen_hour) << "kept for good: no time";
  // Dropped with the highest when a long name leaves no room: never alone.
  Summary crowded = *decoded;
  crowded.function.assign(kMaxFunctionNameBytes, 'x');
  const auto small = decode(encode(crowded));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->highest.has_value(), small->highest_seen_hour.has_value());
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
  summary.samples = UINT64_MAX;  // saturated to kMaxSummarySamples on the wire
  summary.mean_offset = 1e30f;  // every float field non-zero (5 bytes each)
  summary.memory_peak_bytes = kMaxSummaryMemoryBytes;
  std::string error;
  const std::string bytes = encode(summary, &error);
  ASSERT_FALSE(bytes.empty()) << error;
  EXPECT_LE(bytes.size(), kMaxSummaryBytes);
  EXPECT_GE(bytes.size(), kMaxSummaryBytes - 2);  // really the worst case
  const auto decoded = decode(bytes, &error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->samples, kMaxSummarySamples);
  EXPECT_EQ(decoded->memory_peak_bytes, kMaxSummaryMemoryBytes) << "memory is not the optional part";
}

TEST(Summary, MemoryPeakRoundTripsRoundedUp) {
  Summary summary = summarize("checkout-api", diurnal_model(), 3, 17);
  EXPECT_FALSE(decode(encode(summary))->memory_peak_bytes.has_value()) << "not set, not sent";
  for (const uint64_t bytes : {uint64_t{0}, uint64_t{4096}, uint64_t{268435457}, uint64_t{3221237757},
                               uint64_t{35184372088832}}) {
    summary.memory_peak_bytes = bytes;
    const auto peak = decode(encode(summary))->memory_peak_bytes;
    ASSERT_TRUE(peak.has_value());
    EXPECT_GE(*peak, bytes) << "a peak never shrinks on the wire";
    EXPECT_LE(static_cast<double>(*peak - bytes), static_cast<double>(bytes) * 1.2e-7) << bytes;
  }
}

// Encoded by the format-1 code before summaries carried memory (committed with it).
const std::string kSummaryWithoutMemory(
    "\x01\x12\x0c\x63\x68\x65\x63\x6b\x6f\x75\x74\x2d\x61\x70\x69\x18"
    "\x03\x20\x80\xc6\x0a\x2d\x00\x00\x80\x3f\x35\x00\x00\x40\x40\x3d"
    "\x00\x00\xb0\x40\x40\x11\x4d\x00\x00\x80\x3f\x55\x00\x00\x00\x3e"
    "\x5d\x00\x00\x80\x3d\x65\x00\x00\x80\x3e\x6a\x78\xe0\xb8\xca\x87"
    "\x8a\xf8\x9b\x46\xb7\x48\xf0\xfa\xc2\xa6\x0e\xe8\xd9\x4e\x96\xcc"
    "\xe0\xb8\xca\x87\x8a\xf8\x9b\x46\xb7\x48\xf0\xfa\xc2\xa6\x0e\xe8"
    "\xd9\x4e\x96\xcc\xe0\xb8\xca\x87\x8a\xf8\x9b\x46\xb7\x48\xf0\xfa"
    "\xc2\xa6\x0e\xe8\xd9\x4e\x96\xcc\x03\x35\x79\x79\x30\x0b\x56\xfd"
    "\x49\x72\x13\x77\x71\x58\xb4\x1b\x14\xf5\x68\xf6\x03\x35\x79\x79"
    "\x30\x0b\x56\xfd\x49\x72\x13\x77\x71\x58\xb4\x1b\x14\xf5\x68\xf6"
    "\x03\x35\x79\x79\x30\x0b\x56\xfd\x49\x72\x13\x77\x71\x58\xb4\x1b"
    "\x14\xf5\x68\xf6\x8e\x7c\x48\x4c",
    184);

TEST(Summary, OldPeersSummariesWithoutMemoryStillDecode) {
  std::string error;
  const auto s = decode(kSummaryWithoutMemory, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->function, "checkout-api");
  EXPECT_EQ(s->instances, 3u);
  EXPECT_EQ(s->samples, 172800u);
  EXPECT_EQ(s->version, 17u);
  EXPECT_FLOAT_EQ(s->peak, 5.5f);
  ASSERT_EQ(s->mean_q.size(), 96u);
  EXPECT_EQ(s->mean_q[5], 35 % 32);
  EXPECT_EQ(s->spread_q[5], 28);
  EXPECT_FALSE(s->memory_peak_bytes.has_value()) << "unknown, not zero";
  // Re-encoded by this code it is byte for byte what the old code sent: old peers
  // reading our summaries see the same fields, and skip the memory field they do not know.
  EXPECT_EQ(encode(*s), kSummaryWithoutMemory);
}

// A correctly framed summary whose body is `body` (so the CRC does not hide the parser).
std::string framed(const std::string& body) {
  std::string bytes(1, static_cast<char>(kSummaryFormat));
  bytes += body;
  const auto crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(crc >> (8 * i)));
  return bytes;
}

TEST(Summary, HostileMemoryFiguresAreRefused) {
  const std::string body = encode(summarize("f", diurnal_model(), 1, 1)).substr(1);
  const std::string valid = body.substr(0, body.size() - 4);
  auto with_float = [&](uint8_t field, float value) {
    std::string b = valid;
    b.push_back(static_cast<char>(field << 3 | 5));  // fixed32
    b.append(reinterpret_cast<const char*>(&value), 4);
    return framed(b);
  };
  std::string error;
  ASSERT_TRUE(decode(with_float(14, 1e9f), &error)) << error;
  EXPECT_EQ(decode(with_float(14, 1e9f))->memory_peak_bytes, 1000000000u);
  for (const float bad : {-1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 1e30f}) {
    error.clear();
    EXPECT_FALSE(decode(with_float(14, bad), &error)) << bad;
    EXPECT_NE(error.find("memory"), std::string::npos) << error;
  }
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

TEST(Summary, MemoryChangesAreSignificantBeyondTheThreshold) {
  Summary before = summarize("f", diurnal_model(), 1, 1);
  Summary after = before;
  after.memory_peak_bytes = 1000 * 1024 * 1024;
  EXPECT_TRUE(significantly_changed(before, after, 0.05)) << "memory became known";
  before.memory_peak_bytes = 1000 * 1024 * 1024;
  after.memory_peak_bytes = 1030 * 1024 * 1024;
  EXPECT_FALSE(significantly_changed(before, after, 0.05)) << "3 %";
  after.memory_peak_bytes = 1100 * 1024 * 1024;
  EXPECT_TRUE(significantly_changed(before, after, 0.05)) << "10 %";
}

}  // namespace
}  // namespace antiphase::shape
