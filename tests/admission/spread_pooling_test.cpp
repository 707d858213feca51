#include <gtest/gtest.h>

#include <cmath>

#include "common/admission/policy.h"
#include "common/admission/spread_pooling.h"
#include "tests/admission/test_profiles.h"

namespace antiphase::admission {
namespace {

using testing::flat;

TEST(SpreadPooling, ZeroNeighboursLeavesTheProfileUnchanged) {
  shape::SlotProfile p = flat(1.0, 0.5);
  p.spread[7] = 2.0;
  EXPECT_EQ(pool_spread_over_neighbours(p, 0).spread, p.spread);
}

TEST(SpreadPooling, PoolsVarianceOverNeighboursWrappingTheDayAndKeepsASpikySlot) {
  shape::SlotProfile p = flat(1.0, 0.0);
  p.spread[0] = 3.0;  // neighbours of slot 0 are 95 and 1 (the day wraps)
  const shape::SlotProfile q = pool_spread_over_neighbours(p, 1);
  EXPECT_DOUBLE_EQ(q.spread[0], 3.0);                  // own σ larger than the pooled sqrt(9/3)
  EXPECT_NEAR(q.spread[1], std::sqrt(3.0), 1e-12);     // sqrt((9 + 0 + 0) / 3)
  EXPECT_NEAR(q.spread[95], std::sqrt(3.0), 1e-12);
  EXPECT_DOUBLE_EQ(q.spread[2], 0.0);
  EXPECT_EQ(q.mean, p.mean);  // only spreads are pooled
}

TEST(SpreadPooling, WindowWiderThanTheDayUsesEverySlotOnce) {
  shape::SlotProfile p = flat(1.0, 0.0);
  p.mean.resize(4);
  p.peak.resize(4);
  p.spread = {2.0, 0.0, 0.0, 0.0};
  p.period_s = 4 * 3600;
  const shape::SlotProfile q = pool_spread_over_neighbours(p, 10);
  EXPECT_NEAR(q.spread[2], 1.0, 1e-12);  // sqrt(4 / 4)
}

// A slot whose spread was estimated as 0 from a handful of samples, between noisy
// neighbours, lets a candidate in on the plain rule; pooling sees through it.
TEST(SpreadPooling, UnderestimatedSlotSpreadNoLongerAdmitsACandidate) {
  shape::SlotProfile host = flat(4.0, 1.0);
  host.mean[40] = 5.5;
  host.spread[40] = 0.0;
  Candidate c;
  c.function = "steady";
  c.profile = flat(1.5, 0.0);
  c.confidence = 1.0;
  c.correlation = {0.0, 0.0};
  c.comovement = {0.0, "test"};
  HostView view;
  view.capacity_cores = 8.0;
  view.aggregate = host;

  PolicyConfig plain;
  plain.rule = Rule::SlotQuantile;
  const Decision a = AdmissionPolicy(plain).decide(view, c, 2.0);
  EXPECT_TRUE(a.accept);                      // slot 40: 5.5 + 1.5 + 0 = 7.0 ≤ 8
  EXPECT_NEAR(a.projected_peak_cores, 7.5, 1e-9);  // other slots: 4 + 1.5 + 2·1

  PolicyConfig pooled;
  pooled.rule = Rule::SlotQuantile;
  pooled.spread_neighbours = 1;
  const Decision b = AdmissionPolicy(pooled).decide(view, c, 2.0);
  EXPECT_FALSE(b.accept);
  ASSERT_TRUE(b.binding_slot.has_value());
  EXPECT_EQ(*b.binding_slot, 40u);
  EXPECT_NEAR(b.projected_peak_cores, 7.0 + 2.0 * std::sqrt(2.0 / 3.0), 1e-9);
}

}  // namespace
}  // namespace antiphase::admission
