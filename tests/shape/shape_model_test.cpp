// Behaviour of the incremental model: per-slot statistics, UTC alignment, decay,
// confidence, input validation and the incremental embedding's exactness.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/shape/shape.h"
#include "tests/shape/synthetic.h"

namespace antiphase::shape {
namespace {

using namespace testing;

// Peak-sum packing sizes a function by the most it ever used; the day profile's peaks
// fade (half-life a week), so the model keeps that figure apart, undecayed -- for good
// with shape.highest_window = 0.
ShapeConfig kept_for_good() {
  ShapeConfig config;
  config.highest_window_s = 0;
  return config;
}

TEST(ShapeModel, HighestUseOutlivesTheFadingPeaks) {
  ShapeModel model(kept_for_good());
  model.add_sample(kStart + 3600, 8.0, 300);  // one burst of 8 cores, then four idle weeks
  feed(model, [](int64_t) { return 0.1; }, 28, 300, kStart + kDay);
  EXPECT_LT(model.peak(), 8.0 / 8) << "four half-lives later the day peak is a sixteenth of the burst";
  EXPECT_DOUBLE_EQ(model.highest(), 8.0);
  // A seeded model starts from what it is told, and never reads below its own peak.
  ShapeModel seeded(kept_for_good());
  ASSERT_TRUE(seeded.seed(model.day_profile(), 7 * kDay, 100, {}, kStart + 30 * kDay, 8.0));
  EXPECT_DOUBLE_EQ(seeded.highest(), 8.0);
  ShapeModel unseeded(kept_for_good());
  ASSERT_TRUE(unseeded.seed(model.day_profile(), 7 * kDay, 100, {}, kStart + 30 * kDay));
  EXPECT_DOUBLE_EQ(unseeded.highest(), unseeded.peak());
}

// shape.highest_window: a burst counts in full for the window after it was seen, then
// only as far as the fading day profile holds it; a use told by gossip is dated where
// it was seen, so a model seeded elsewhere forgets it on the same day as its source.
TEST(ShapeModel, AWindowedHighestForgetsABurstWhereItWasSeen) {
  ShapeConfig config;
  config.highest_window_s = 4 * kDay;
  config.highest_window_after_relief = false;  // applies from the start
  ShapeModel model(config);
  model.add_sample(kStart + 3600, 8.0, 300);
  feed(model, [](int64_t) { return 0.1; }, 3.9, 300, kStart + 7200);
  EXPECT_DOUBLE_EQ(model.highest(), 8.0) << "3.9 days after the burst";
  ASSERT_TRUE(model.highest_seen_s());
  EXPECT_EQ(*model.highest_seen_s(), kStart + 3600);
  feed(model, [](int64_t) { return 0.1; }, 1, 300, model.last_unix_s() + 300);
  EXPECT_LT(model.highest(), 8.0 * 0.95) << "a day past the window: the fading peak only";
  EXPECT_DOUBLE_EQ(model.highest(), model.peak());
  // Seeded two days after the burst with the time it was seen: forgets it with its source.
  ShapeModel moved(config);
  ASSERT_TRUE(moved.seed(model.day_profile(), 2 * kDay, 100, {}, kStart + 2 * kDay, 8.0, kStart + 3600));
  moved.add_sample(kStart + 4 * kDay, 0.1, 300);
  EXPECT_DOUBLE_EQ(moved.highest(), 8.0);
  moved.add_sample(kStart + 4 * kDay + 7200, 0.1, 300);
  EXPECT_LT(moved.highest(), 8.0);
  // Without the time (an older agent), it is dated at the seed: the careful reading.
  ShapeModel undated(config);
  ASSERT_TRUE(undated.seed(model.day_profile(), 2 * kDay, 100, {}, kStart + 2 * kDay, 8.0));
  undated.add_sample(kStart + 6 * kDay - 60, 0.1, 60);
  EXPECT_DOUBLE_EQ(undated.highest(), 8.0);
  // Another model's uses keep their times too (an earlier stay on this host).
  ShapeModel resumed(config);
  resumed.add_sample(kStart + 2 * kDay, 0.5, 300);
  resumed.raise_highest(undated);
  EXPECT_DOUBLE_EQ(resumed.highest(), 8.0);
  EXPECT_EQ(resumed.highest_seen_s(), kStart + 2 * kDay);
  // A window of 0 keeps it for good, however it arrived.
  ShapeModel forever(kept_for_good());
  forever.add_sample(kStart + 3600, 8.0, 300);
  feed(forever, [](int64_t) { return 0.1; }, 20, 300, kStart + 7200);
  EXPECT_DOUBLE_EQ(forever.highest(), 8.0);
  EXPECT_FALSE(forever.highest_seen_s());
}

// shape.highest_window_after_relief (the default): the window waits to be opened (the
// node core opens it once relief was acted upon); until then the burst counts for
// good, and once open, uses already older than the window are forgotten at once.
TEST(ShapeModel, AWindowAfterReliefKeepsTheBurstUntilOpened) {
  ShapeConfig config;
  config.highest_window_s = 4 * kDay;
  ASSERT_TRUE(config.highest_window_after_relief) << "the default";
  ShapeModel model(config);
  model.add_sample(kStart + 3600, 8.0, 300);
  feed(model, [](int64_t) { return 0.1; }, 10, 300, kStart + 7200);
  EXPECT_FALSE(model.forgets());
  EXPECT_DOUBLE_EQ(model.highest(), 8.0) << "ten days on, the window not open: kept for good";
  EXPECT_FALSE(model.highest_seen_s()) << "summaries then carry no time, as kept for good";
  model.open_window();
  EXPECT_TRUE(model.forgets());
  EXPECT_LT(model.highest(), 8.0 * 0.5) << "opened: the burst is six days past the window";
  EXPECT_DOUBLE_EQ(model.highest(), model.peak());
  // A burst within the window when it opens still counts in full, dated where it was seen.
  ShapeModel recent(config);
  feed(recent, [](int64_t) { return 0.1; }, 3, 300, kStart);
  recent.add_sample(kStart + 3 * kDay, 6.0, 300);
  feed(recent, [](int64_t) { return 0.1; }, 2, 300, kStart + 3 * kDay + 300);
  recent.open_window();
  EXPECT_DOUBLE_EQ(recent.highest(), 6.0);
  EXPECT_EQ(recent.highest_seen_s(), kStart + 3 * kDay);
}

TEST(ShapeModel, SlotStatisticsAreMeanSpreadAndPeak) {
  ShapeModel model;
  // Two equally weighted samples in the 06:00-06:15 slot: mean 2, stddev 1, peak 3.
  model.add_sample(kStart + 6 * 3600 + 10, 1.0);
  model.add_sample(kStart + 6 * 3600 + 20, 3.0);
  const SlotProfile day = model.day_profile();
  ASSERT_EQ(day.slots(), 96u);
  EXPECT_NEAR(day.mean[24], 2.0, 1e-6);
  EXPECT_NEAR(day.spread[24], 1.0, 1e-6);
  EXPECT_NEAR(day.peak[24], 3.0, 1e-6);
  EXPECT_EQ(day.mean[23], 0.0);
  EXPECT_EQ(day.mean[25], 0.0);
  // Hour fold: both samples fall in minute 0.
  const SlotProfile hour = model.hour_profile();
  ASSERT_EQ(hour.slots(), 60u);
  EXPECT_NEAR(hour.mean[0], 2.0, 1e-6);
  EXPECT_EQ(model.samples(), 2u);
  EXPECT_DOUBLE_EQ(model.history_s(), 2.0);
}

TEST(ShapeModel, ReportsObservedSlots) {
  ShapeModel model;
  model.add_sample(kStart + 6 * 3600 + 10, 0.0);  // observed idle differs from unobserved
  const std::vector<bool> day = model.day_observed();
  ASSERT_EQ(day.size(), 96u);
  EXPECT_TRUE(day[24]);
  EXPECT_EQ(std::count(day.begin(), day.end(), true), 1);
  EXPECT_TRUE(model.hour_observed()[0]);
}

TEST(ShapeModel, WeightsCountTime) {
  ShapeModel model;
  model.add_sample(kStart + 100, 1.0, 3.0);  // 1 core for 3 s
  model.add_sample(kStart + 200, 5.0, 1.0);  // 5 cores for 1 s
  EXPECT_NEAR(model.day_profile().mean[0], 2.0, 1e-6);  // (3*1 + 1*5) / 4
}

TEST(ShapeModel, ProfilesAlignByUtcSlot) {
  // Two "hosts" seeing the same function on different days agree slot by slot.
  ShapeModel a, b;
  a.add_sample(kStart + 13 * 3600 + 5 * 60, 4.0);
  b.add_sample(kStart + 9 * kDay + 13 * 3600 + 14 * 60, 4.0);
  const auto pa = a.day_profile(), pb = b.day_profile();
  EXPECT_NEAR(pa.mean[52], 4.0, 1e-6);  // 13:00-13:15 is slot 52
  EXPECT_EQ(pa.mean, pb.mean);
  EXPECT_EQ(pa.slot_of(kStart + 13 * 3600 + 5 * 60), 52u);
  // Times before 1970 still fold into the right slot.
  ShapeModel c;
  c.add_sample(-kDay + 3600, 1.0);
  EXPECT_NEAR(c.day_profile().mean[4], 1.0, 1e-6);
}

TEST(ShapeModel, DecayFollowsDrift) {
  ShapeModel model;  // half-life 7 days for the day fold
  feed(model, flat(1.0), 21);
  EXPECT_NEAR(model.mean(), 1.0, 1e-4);
  feed(model, flat(3.0), 7, 300, kStart + 21 * kDay);
  // After one half-life the old level carries (almost exactly) half the weight.
  EXPECT_NEAR(model.mean(), 2.0, 0.1);
  feed(model, flat(3.0), 21, 300, kStart + 28 * kDay);
  EXPECT_NEAR(model.mean(), 3.0, 0.15);
  EXPECT_GT(model.mean(), 2.8);
}

TEST(ShapeModel, ShapeFollowsAPhaseChange) {
  ShapeModel model, new_shape;
  feed(model, diurnal(6), 21);
  feed(new_shape, diurnal(18), 2);
  EXPECT_LT(correlate(model.embedding(), new_shape.embedding()).rho, -0.95);
  feed(model, diurnal(18), 14, 300, kStart + 21 * kDay);
  // Two half-lives later the new phase carries 3/4 of the weight.
  const auto after = correlate(model.embedding(), new_shape.embedding());
  EXPECT_GT(after.rho, 0.95);
  // At midnight the old shape was at 1 core, the new one at 3: 0.25*1 + 0.75*3.
  EXPECT_NEAR(model.day_profile().mean[0], 2.5, 0.05);
}

TEST(ShapeModel, HourFoldDecaysPerHour) {
  ShapeModel model;  // hour fold half-life: 7 hours
  feed(model, flat(1.0), 1, 60);
  feed(model, flat(3.0), 7.0 / 24.0, 60, kStart + kDay);
  EXPECT_NEAR(model.hour_profile().mean[30], 2.0, 0.1);
  // The day fold decays per day: 00:00-07:00 has seen one day at 1 and one at 3.
  const double newer = std::pow(2.0, 1.0 / 7);
  EXPECT_NEAR(model.day_profile().mean[0], (1.0 + 3.0 * newer) / (1.0 + newer), 1e-4);
  EXPECT_NEAR(model.day_profile().mean[40], 1.0, 1e-4);  // 10:00 not seen since: unchanged
}

TEST(ShapeModel, PeakDecaysPerPeriod) {
  ShapeModel model;
  model.add_sample(kStart + 60, 10.0, 300);
  feed(model, flat(1.0), 14, 300, kStart + 300);
  // Two half-lives later the 10-core spike counts as 2.5 in slot 0.
  EXPECT_NEAR(model.day_profile().peak[0], 10.0 * 0.25, 0.3);
  EXPECT_NEAR(model.peak(), 2.5, 0.3);
}

TEST(ShapeModel, ConfidenceGrowsWithHistory) {
  ShapeModel model;
  EXPECT_EQ(model.confidence(), 0.0);
  feed(model, flat(1.0), 0.25);
  EXPECT_NEAR(model.confidence(), 0.25, 0.01);
  EXPECT_LT(model.confidence(), 0.5);  // under a day: low
  feed(model, flat(1.0), 0.75, 300, kStart + kDay / 4);
  EXPECT_NEAR(model.confidence(), 1.0, 1e-9);
  feed(model, flat(1.0), 3, 300, kStart + kDay);
  EXPECT_EQ(model.confidence(), 1.0);
}

TEST(ShapeModel, RejectsBadSamples) {
  ShapeModel model;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(model.add_sample(kStart, nan));
  EXPECT_FALSE(model.add_sample(kStart, inf));
  EXPECT_FALSE(model.add_sample(kStart, -1.0));
  EXPECT_FALSE(model.add_sample(kStart, 1e9));
  EXPECT_FALSE(model.add_sample(kStart, 1.0, 0.0));
  EXPECT_FALSE(model.add_sample(kStart, 1.0, -5.0));
  EXPECT_FALSE(model.add_sample(kStart, 1.0, nan));
  EXPECT_EQ(model.samples(), 0u);
  EXPECT_EQ(model.day_profile().mean[0], 0.0);
  EXPECT_TRUE(model.add_sample(kStart, 1.0));
}

TEST(ShapeModel, ClockStepBackwardsIsHarmless) {
  ShapeModel model;
  feed(model, flat(1.0), 2);
  model.add_sample(kStart - 30 * kDay, 1.0);  // far in the past
  feed(model, flat(1.0), 1, 300, kStart + 2 * kDay);
  for (double v : model.day_profile().mean) EXPECT_NEAR(v, 1.0, 1e-5);
}

TEST(ShapeModel, LongGapForgetsWithoutOverflow) {
  ShapeModel model;
  feed(model, flat(5.0), 2);
  feed(model, flat(1.0), 1, 300, kStart + 5000 * kDay);  // ~14 years later
  for (double v : model.day_profile().mean) EXPECT_NEAR(v, 1.0, 1e-5);
  EXPECT_NEAR(model.peak(), 1.0, 1e-5);
}

TEST(ShapeModel, BadConfigThrowsWithReason) {
  ShapeConfig config;
  config.day = {97, 86400};  // 86400 is not a multiple of 97
  EXPECT_THROW(ShapeModel{config}, std::invalid_argument);
  EXPECT_TRUE(validate(config).has_value());
  config = {};
  config.k = 0;
  EXPECT_TRUE(validate(config).has_value());
  config = {};
  config.k = kMaxCoefficients + 1;
  EXPECT_TRUE(validate(config).has_value());
  config.k = 96;
  config.hour_k = 96;  // more than the hour fold's 60 slots: that fold keeps all 60
  ASSERT_FALSE(validate(config).has_value());
  EXPECT_EQ(ShapeModel(config).embedding().hour.mean_coef.size(), 60);
  EXPECT_EQ(ShapeModel(config).embedding().day.mean_coef.size(), 96);
  config = {};
  config.half_life_periods = 0;
  EXPECT_TRUE(validate(config).has_value());
  EXPECT_FALSE(validate(ShapeConfig{}).has_value());
}

TEST(ShapeModel, IncrementalEmbeddingMatchesDirectTransform) {
  ShapeModel model;
  feed(model, daily_random_walk(7), 3, 60);
  // Not on a refresh boundary: a few extra samples.
  for (int i = 0; i < 517; ++i) model.add_sample(kStart + 3 * kDay + 7 * i, 0.5 + (i % 13) * 0.1, 1.0);
  const Embedding incremental = model.embedding();
  const FoldEmbedding direct_day = embed_profile(model.day_profile(), model.config().k);
  const FoldEmbedding direct_hour = embed_profile(model.hour_profile(), model.config().hour_k);
  ASSERT_EQ(incremental.day.mean_coef.size(), static_cast<long>(model.config().k));
  EXPECT_LT((incremental.day.mean_coef - direct_day.mean_coef).norm(), 1e-9);
  EXPECT_LT((incremental.day.spread_coef - direct_day.spread_coef).norm(), 1e-9);
  EXPECT_LT((incremental.hour.mean_coef - direct_hour.mean_coef).norm(), 1e-9);
  EXPECT_NEAR(incremental.day.mean_energy, direct_day.mean_energy, 1e-9 * direct_day.mean_energy);
  EXPECT_NEAR(incremental.hour.spread_energy, direct_hour.spread_energy, 1e-9 * direct_hour.spread_energy + 1e-12);
}

TEST(ShapeModel, FullKEmbeddingIsExact) {
  // With all 96 coefficients nothing is truncated: the bound collapses to rounding.
  ShapeConfig config;
  config.k = 60;
  config.day = {60, 86400};  // k = slots: nothing truncated
  ShapeModel a(config), b(config);
  feed(a, daily_random_walk(1), 2);
  feed(b, daily_random_walk(2), 2);
  const CorrelationEstimate estimate = correlate(a.embedding(), b.embedding());
  EXPECT_LT(estimate.bound, 1e-5);
  EXPECT_NEAR(estimate.rho, exact_correlation(a.day_profile(), b.day_profile()), 1e-5);
}

TEST(ShapeModel, MemoryPerFunctionIsSmall) {
  ShapeModel model;
  feed(model, flat(1.0), 1);
  // 3.9 KB of folds and embeddings plus the 48-hour residual sketch (384 B).
  EXPECT_LE(model.memory_bytes(), 4352u);
}

}  // namespace
}  // namespace antiphase::shape
