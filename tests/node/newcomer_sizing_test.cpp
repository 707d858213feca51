// NewcomerSizing alone: what counts as a newcomer's stay, and the quantile it sizes by.
#include <gtest/gtest.h>

#include "common/node/newcomer_sizing.h"

namespace antiphase::node {
namespace {

constexpr int64_t kT0 = 1700006400;

// `name` requested `requested` cores and used `used` for `ticks` 5-minute ticks.
void stay(NewcomerSizing& s, const std::string& name, double requested, double used, int ticks, int64_t& t) {
  s.admitted(name, requested);
  for (int i = 0; i < ticks; ++i, t += 300) {
    s.measured(name, used, t);
    s.settle(t);
  }
}

TEST(NewcomerSizing, AOneTickGapIsNotADepartureAndAStayEndsAfterFifteenMinutes) {
  NewcomerSizing s;
  int64_t t = kT0;
  stay(s, "a", 1.0, 2.0, 3, t);
  s.settle(t += 300);  // missed in one tick (600 s since it was last seen)
  EXPECT_EQ(s.samples(), 0u);
  stay(s, "a", 1.0, 5.0, 1, t);  // back, and higher: still the same stay
  const int64_t last_seen = t - 300;
  s.settle(last_seen + kGoneAfterS - 1);
  EXPECT_EQ(s.samples(), 0u);
  s.settle(last_seen + kGoneAfterS);
  EXPECT_EQ(s.samples(), 1u);
  EXPECT_EQ(s.watched(), 0u);
}

TEST(NewcomerSizing, TheFactorIsTheQuantileOfTheLastWindowAndNeverBelowOne) {
  NewcomerConfig c;
  c.quantile = 0.9;
  c.window = 10;
  c.min_samples = 8;
  NewcomerSizing s(c);
  int64_t t = kT0;
  // Ten newcomers at 1 core requested that used 1..10: the 0.9 quantile of ten is the 9th.
  for (int i = 1; i <= 10; ++i) {
    stay(s, "f" + std::to_string(i), 1.0, i, 2, t);
    t += kGoneAfterS;
    s.settle(t);
    EXPECT_DOUBLE_EQ(s.factor(), i < 8 ? 1.0 : (i < 10 ? i : 9.0)) << i << " samples";
  }
  // The window forgets: ten that used half their request bring it back to 1, not 0.5.
  for (int i = 0; i < 10; ++i) {
    stay(s, "g" + std::to_string(i), 2.0, 1.0, 2, t);
    t += kGoneAfterS;
    s.settle(t);
  }
  EXPECT_EQ(s.samples(), 10u);
  EXPECT_DOUBLE_EQ(s.factor(), 1.0);
}

TEST(NewcomerSizing, AnAdmissionThatNeverShowsUpLapsesWithoutASample) {
  NewcomerSizing s;
  s.admitted("ghost", 1.0);
  s.settle(kT0);
  EXPECT_EQ(s.watched(), 1u);
  s.settle(kT0 + kGoneAfterS);
  EXPECT_EQ(s.watched(), 0u);
  EXPECT_EQ(s.samples(), 0u);
}

}  // namespace
}  // namespace antiphase::node
