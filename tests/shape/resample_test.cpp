// Re-slicing folded profiles between slot counts.
#include <gtest/gtest.h>

#include <cmath>

#include "common/shape/resample.h"

namespace antiphase::shape {
namespace {

SlotProfile profile_of(std::vector<double> mean, std::vector<double> spread, std::vector<double> peak) {
  SlotProfile p;
  p.mean = std::move(mean);
  p.spread = std::move(spread);
  p.peak = std::move(peak);
  return p;
}

TEST(Resample, PoolsFinerSlots) {
  // Two sub-slots: means 1 and 3, each stddev 1 -> pooled mean 2, variance 1 + 1 = 2.
  const SlotProfile fine = profile_of({1, 3, 5, 5}, {1, 1, 0, 0}, {2, 4, 5, 6});
  const SlotProfile coarse = resample(fine, 2);
  ASSERT_EQ(coarse.slots(), 2u);
  EXPECT_DOUBLE_EQ(coarse.mean[0], 2.0);
  EXPECT_NEAR(coarse.spread[0], std::sqrt(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(coarse.peak[0], 4.0);
  EXPECT_DOUBLE_EQ(coarse.mean[1], 5.0);
  EXPECT_NEAR(coarse.spread[1], 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(coarse.peak[1], 6.0);
}

TEST(Resample, RepeatsCoarserSlotsAndHandlesUnevenRatios) {
  const SlotProfile coarse = profile_of({1, 2, 3}, {0.5, 0.5, 0.5}, {1, 2, 3});
  const SlotProfile fine = resample(coarse, 6);
  for (size_t w = 0; w < 6; ++w) EXPECT_DOUBLE_EQ(fine.mean[w], coarse.mean[w / 2]);
  // 3 -> 2 slots: target 0 = source 0 + half of source 1.
  const SlotProfile two = resample(coarse, 2);
  EXPECT_NEAR(two.mean[0], (1.0 + 0.5 * 2.0) / 1.5, 1e-12);
  EXPECT_NEAR(two.mean[1], (0.5 * 2.0 + 3.0) / 1.5, 1e-12);
  // Pooling never loses total load: overlap-weighted means preserve the average.
  EXPECT_NEAR((two.mean[0] + two.mean[1]) / 2, 2.0, 1e-12);
}

TEST(Resample, BadInputGivesEmpty) {
  EXPECT_EQ(resample(SlotProfile{}, 96).slots(), 0u);
  EXPECT_EQ(resample(profile_of({1, 2}, {1}, {1, 2}), 4).slots(), 0u);
  EXPECT_EQ(resample(profile_of({1, 2}, {1, 1}, {1, 2}), 0).slots(), 0u);
}

}  // namespace
}  // namespace antiphase::shape
