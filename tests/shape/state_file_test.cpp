// State file: exact round trip, and corrupt/truncated/unknown input refused with a
// reason and without touching the caller's models.
#include <gtest/gtest.h>

#include <zlib.h>

#include <random>

#include "common/shape/shape.h"
#include "tests/shape/synthetic.h"

namespace antiphase::shape {
namespace {

using namespace testing;

struct Agent {
  std::map<std::string, ShapeModel> functions;
  ShapeModel host;
};

Agent sample_agent() {
  Agent agent;
  feed(agent.functions["morning"], diurnal(8), 2, 120);
  feed(agent.functions["night"], diurnal(20), 1.5, 120);
  feed(agent.functions["cron"], hourly_spike(0), 0.3, 60);
  agent.functions["never-ran"];
  agent.functions[std::string("odd\xff\0name", 9)];
  ShapeConfig config;
  config.k = 8;
  config.hour_k = 60;
  config.half_life_periods = 3;
  agent.functions.emplace("custom", ShapeModel(config));
  feed(agent.functions.at("custom"), daily_random_walk(5), 1);
  feed(agent.host, diurnal(8), 2, 120);
  return agent;
}

void expect_same(const ShapeModel& a, const ShapeModel& b) {
  EXPECT_EQ(a.day_profile().mean, b.day_profile().mean);
  EXPECT_EQ(a.day_profile().spread, b.day_profile().spread);
  EXPECT_EQ(a.day_profile().peak, b.day_profile().peak);
  EXPECT_EQ(a.hour_profile().mean, b.hour_profile().mean);
  EXPECT_EQ(a.hour_profile().spread, b.hour_profile().spread);
  EXPECT_EQ(a.samples(), b.samples());
  EXPECT_EQ(a.history_s(), b.history_s());
  EXPECT_EQ(a.highest(), b.highest());
  EXPECT_EQ(a.confidence(), b.confidence());
  EXPECT_EQ(a.config().k, b.config().k);
  EXPECT_EQ(a.config().hour_k, b.config().hour_k);
  EXPECT_EQ(a.config().half_life_periods, b.config().half_life_periods);
  EXPECT_LT((a.embedding().day.mean_coef - b.embedding().day.mean_coef).norm(), 1e-9);
}

TEST(StateFile, RoundTripRestoresProfilesExactly) {
  const Agent agent = sample_agent();
  const std::string bytes = serialize_state(agent.functions, agent.host);
  std::map<std::string, ShapeModel> functions;
  ShapeModel host;
  std::string error;
  ASSERT_TRUE(deserialize_state(bytes, &functions, &host, &error)) << error;
  ASSERT_EQ(functions.size(), agent.functions.size());
  for (const auto& [name, model] : agent.functions) expect_same(model, functions.at(name));
  expect_same(agent.host, host);
  EXPECT_EQ(serialize_state(functions, host), bytes);  // deterministic

  // Restored models keep learning exactly like the originals.
  ShapeModel original = agent.functions.at("morning");
  ShapeModel& restored = functions.at("morning");
  feed(original, diurnal(14), 9, 300, kStart + 2 * kDay);
  feed(restored, diurnal(14), 9, 300, kStart + 2 * kDay);
  expect_same(original, restored);
}

std::string frame(std::string_view payload, uint32_t format = kStateFormat) {
  std::string out("APSHAPE\0", 8);
  auto put = [&](uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i))); };
  put(format);
  put(static_cast<uint32_t>(payload.size()));
  put(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size())));
  return out + std::string(payload);
}

bool load(std::string_view bytes, std::string* error) {
  std::map<std::string, ShapeModel> functions{{"keep", ShapeModel{}}};
  ShapeModel host;
  const bool ok = deserialize_state(bytes, &functions, &host, error);
  if (!ok) {
    EXPECT_EQ(functions.count("keep"), 1u) << "untouched on failure";
  }
  return ok;
}

// The window is configuration: restored models follow the caller's, with their steps.
TEST(StateFile, HighestStepsRoundTripAndTheWindowIsTheCallers) {
  ShapeConfig windowed;
  windowed.highest_window_s = 2 * kDay;
  windowed.highest_window_after_relief = false;
  std::map<std::string, ShapeModel> functions;
  ShapeModel& burst = functions.emplace("burst", ShapeModel(windowed)).first->second;
  burst.add_sample(kStart, 6.0, 300);
  feed(burst, [](int64_t) { return 0.2; }, 1, 300, kStart + 300);
  ShapeConfig for_good;
  for_good.highest_window_s = 0;
  ShapeModel kept_for_good(for_good);  // as written before windows existed: no steps
  kept_for_good.add_sample(kStart, 6.0, 300);
  feed(kept_for_good, [](int64_t) { return 0.2; }, 1, 300, kStart + 300);
  functions.emplace("old", kept_for_good);
  const std::string bytes = serialize_state(functions, ShapeModel(windowed));

  std::map<std::string, ShapeModel> restored;
  ShapeModel host(windowed);
  std::string error;
  ASSERT_TRUE(deserialize_state(bytes, &restored, &host, &error)) << error;
  EXPECT_EQ(restored.at("burst").raw().highest_steps, burst.raw().highest_steps);
  EXPECT_EQ(restored.at("burst").highest_seen_s(), kStart);
  EXPECT_EQ(restored.at("old").config().highest_window_s, 2.0 * kDay) << "the caller's window";
  EXPECT_EQ(restored.at("old").highest_seen_s(), kept_for_good.last_unix_s()) << "no steps: seen last, the careful reading";
  EXPECT_DOUBLE_EQ(restored.at("old").highest(), 6.0);

  ShapeModel forever_host(for_good);
  ASSERT_TRUE(deserialize_state(bytes, &restored, &forever_host, &error)) << error;
  EXPECT_EQ(restored.at("burst").config().highest_window_s, 0.0);
  EXPECT_TRUE(restored.at("burst").raw().highest_steps.empty()) << "kept for good: steps are moot";
  EXPECT_DOUBLE_EQ(restored.at("burst").highest(), 6.0);
}

TEST(StateFile, RejectsEveryTruncation) {
  const Agent agent = sample_agent();
  const std::string bytes = serialize_state(agent.functions, agent.host);
  for (size_t length = 0; length < bytes.size(); length += (length < 64 ? 1 : 7)) {
    std::string error;
    EXPECT_FALSE(load(std::string_view(bytes).substr(0, length), &error)) << length;
    EXPECT_FALSE(error.empty());
  }
}

TEST(StateFile, RejectsCorruption) {
  const Agent agent = sample_agent();
  const std::string bytes = serialize_state(agent.functions, agent.host);
  std::mt19937 rng(5);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string garbled = bytes;
    garbled[rng() % garbled.size()] ^= static_cast<char>(1 + rng() % 255);
    std::string error;
    EXPECT_FALSE(load(garbled, &error));
    EXPECT_FALSE(error.empty());
  }
}

TEST(StateFile, RejectsUnknownVersionAndBadMagic) {
  std::string error;
  EXPECT_FALSE(load(frame("", 2), &error));
  EXPECT_NE(error.find("format 2"), std::string::npos) << error;
  std::string bytes = serialize_state({}, ShapeModel{});
  bytes[0] = 'X';
  EXPECT_FALSE(load(bytes, &error));
  EXPECT_NE(error.find("magic"), std::string::npos) << error;
}

TEST(StateFile, RejectsWellFramedNonsense) {
  // Checksums match, but the payload is not a sane state.
  std::string error;
  EXPECT_FALSE(load(frame("\xff\xff\xff"), &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(load(frame(""), &error));  // host model with no config
  EXPECT_NE(error.find("host"), std::string::npos) << error;
}

TEST(StateFile, EmptyAgentRoundTrips) {
  const std::string bytes = serialize_state({}, ShapeModel{});
  std::map<std::string, ShapeModel> functions;
  ShapeModel host;
  std::string error;
  ASSERT_TRUE(deserialize_state(bytes, &functions, &host, &error)) << error;
  EXPECT_TRUE(functions.empty());
  EXPECT_EQ(host.samples(), 0u);
}

// Whether relief was seen acted upon (the node core's open window) survives a restart;
// files written before it existed read as not seen.
TEST(StateFile, ReliefFollowedRoundTrips) {
  std::map<std::string, ShapeModel> functions;
  std::map<std::string, ShapeModel> restored;
  ShapeModel host;
  std::string error;
  bool followed = false;
  ASSERT_TRUE(deserialize_state(serialize_state(functions, ShapeModel(), true), &restored, &host, &error, &followed)) << error;
  EXPECT_TRUE(followed);
  ASSERT_TRUE(deserialize_state(serialize_state(functions, ShapeModel()), &restored, &host, &error, &followed)) << error;
  EXPECT_FALSE(followed);
  EXPECT_FALSE(host.forgets()) << "restored closed: the node core opens it";
}

}  // namespace
}  // namespace antiphase::shape
