// The moving-window highest use behind shape.highest_window: what it remembers, for how
// long, and that its bound never makes it remember less.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "common/shape/recent_highest.h"

namespace antiphase::shape {
namespace {

constexpr int64_t kHour = 3600;

TEST(RecentHighest, ABurstCountsForTheWindowThenTheNextHighestTakesOver) {
  RecentHighest h(48 * kHour);
  h.note(0, 8.0);              // a burst
  h.note(10 * kHour, 3.0);     // then lower uses
  h.note(20 * kHour, 1.0);
  ASSERT_NE(h.top(47 * kHour), nullptr);
  EXPECT_EQ(h.top(48 * kHour)->cores, 8.0) << "still within the window";
  EXPECT_EQ(h.top(49 * kHour)->cores, 3.0) << "the burst is 49 h old";
  EXPECT_EQ(h.top(59 * kHour)->cores, 1.0);
  EXPECT_EQ(h.top(69 * kHour), nullptr);
}

TEST(RecentHighest, ALaterHigherUseHidesEarlierLowerOnesInAnyOrder) {
  RecentHighest h(100 * kHour);
  h.note(10 * kHour, 2.0);
  h.note(30 * kHour, 1.0);
  h.note(20 * kHour, 5.0);  // told late (e.g. by gossip): hides the 2 before it, not the 1 after
  h.note(5 * kHour, 4.0);   // earlier and lower than the 5: adds nothing
  const std::vector<RecentHighest::Step> want{{20 * kHour, 5.0}, {30 * kHour, 1.0}};
  EXPECT_EQ(h.steps(), want);
  h.note(30 * kHour, 6.0);  // same time, higher: replaces
  EXPECT_EQ(h.steps(), (std::vector<RecentHighest::Step>{{30 * kHour, 6.0}}));
}

TEST(RecentHighest, PastItsBoundItMergesIntoTheHigherHeightAtTheLaterTime) {
  RecentHighest h(1000 * kHour);
  // A falling series: every use is a step, until the bound.
  for (int i = 0; i <= static_cast<int>(RecentHighest::kMaxSteps); ++i) h.note(i * 10 * kHour + (i == 3 ? -5 * kHour : 0), 100.0 - i);
  ASSERT_EQ(h.steps().size(), RecentHighest::kMaxSteps);
  // Steps 2 (at 20 h) and 3 (at 25 h) were closest: 98 cores now last from 25 h.
  EXPECT_EQ(h.steps()[2], (RecentHighest::Step{25 * kHour, 98.0}));
  // Never lower, never shorter: at every time the bounded staircase is at least the exact one.
  for (int64_t now = 0; now < 1100 * kHour; now += kHour) {
    const RecentHighest::Step* top = h.top(now);
    double exact = 0;
    for (int i = 0; i <= static_cast<int>(RecentHighest::kMaxSteps); ++i) {
      const int64_t t = i * 10 * kHour + (i == 3 ? -5 * kHour : 0);
      if (t <= now && now - t <= 1000 * kHour) exact = std::max(exact, 100.0 - i);
    }
    EXPECT_GE(top ? top->cores : 0.0, exact) << now / kHour;
  }
}

TEST(RecentHighest, RestoreTakesOnlyABoundedStaircase) {
  RecentHighest h(10 * kHour);
  constexpr double kCap = 1e6;
  EXPECT_TRUE(h.restore({{0, 3.0}, {kHour, 2.0}}, kCap));
  EXPECT_FALSE(h.restore({{0, 2.0}, {kHour, 3.0}}, kCap)) << "rising: not a staircase";
  EXPECT_FALSE(h.restore({{kHour, 3.0}, {0, 2.0}}, kCap)) << "out of order";
  EXPECT_FALSE(h.restore({{0, -1.0}}, kCap));
  EXPECT_FALSE(h.restore({{0, std::numeric_limits<double>::quiet_NaN()}}, kCap));
  EXPECT_FALSE(h.restore({{0, 2 * kCap}}, kCap)) << "above the cap";
  EXPECT_FALSE(h.restore(std::vector<RecentHighest::Step>(RecentHighest::kMaxSteps + 1), kCap));
  EXPECT_EQ(h.steps(), (std::vector<RecentHighest::Step>{{0, 3.0}, {kHour, 2.0}})) << "failed restores change nothing";
}

}  // namespace
}  // namespace antiphase::shape
