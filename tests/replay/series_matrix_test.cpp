#include <gtest/gtest.h>

#include "agent/replay/profile_fit.h"
#include "agent/trace/series_matrix.h"
#include "agent/replay/time_arg.h"

namespace antiphase::replay {
namespace {

TEST(SeriesMatrix, AlignsAveragesAndFillsGaps) {
  // Step 300: a has samples at steps 1, 1 (twice), 3; b only at step 0.
  const Trace t = parse_trace_text("0,b,2\n300,a,1\n310,a,3\n900,a,5\n");
  EXPECT_EQ(detect_step(parse_trace_text("0,a,1\n0,b,1\n300,a,1\n300,b,1\n600,a,1\n610,b,1\n")), 300);
  EXPECT_EQ(detect_step(parse_trace_text("0,a,1\n")), 0);
  // Sparser sampling later (the test window) must not change the step learned before it.
  const Trace sparse_later = parse_trace_text("0,a,1\n300,a,1\n600,a,1\n1200,a,1\n1800,a,1\n2400,a,1\n3000,a,1\n");
  EXPECT_EQ(detect_step(sparse_later), 600);
  EXPECT_EQ(detect_step(sparse_later, 900), 300);
  // Rows in any order: grouped by function, or shuffled, the step is the same.
  EXPECT_EQ(detect_step(parse_trace_text("600,b,1\n0,a,1\n300,b,1\n600,a,1\n0,b,1\n300,a,1\n900,a,1\n")), 300);
  const SeriesMatrix m = align(t, {0, 1200}, 300);
  ASSERT_EQ(m.steps, 4u);
  const std::vector<float> a = m.series[1];  // b appeared first in the file
  EXPECT_FLOAT_EQ(a[0], 2.0f);  // leading gap takes the first sample
  EXPECT_FLOAT_EQ(a[1], 2.0f);  // average of 1 and 3
  EXPECT_FLOAT_EQ(a[2], 2.0f);  // repeats the previous
  EXPECT_FLOAT_EQ(a[3], 5.0f);
  EXPECT_DOUBLE_EQ(m.coverage[1], 0.5);
  EXPECT_DOUBLE_EQ(m.coverage[0], 0.25);
  EXPECT_THROW(align(t, {0, 0}, 300), std::invalid_argument);
}

TEST(ProfileFit, PerSlotMeanSpreadPeak) {
  // Two days of 12-hour steps on a 2-slot day fold: slot 0 sees {1, 3}, slot 1 sees {10, 10}.
  const std::vector<double> series = {1, 10, 3, 10};
  const FoldGrid grid{0, 43200, 86400, 2, ProfileSource::Direct};
  const shape::SlotProfile p = fit_profile(series, grid);
  EXPECT_DOUBLE_EQ(p.mean[0], 2.0);
  EXPECT_DOUBLE_EQ(p.spread[0], 1.0);
  EXPECT_DOUBLE_EQ(p.peak[0], 3.0);
  EXPECT_DOUBLE_EQ(p.mean[1], 10.0);
  EXPECT_DOUBLE_EQ(p.spread[1], 0.0);
}

TEST(ProfileFit, ShapeModelMatchesDirectStatisticsOnOneDay) {
  // Within one period the shape model's weights are all equal, so both sources agree.
  std::vector<double> series(288);
  for (size_t i = 0; i < series.size(); ++i) series[i] = 1.0 + static_cast<double>(i % 7) * 0.1 + (i >= 144 ? 2.0 : 0.0);
  FoldGrid direct{1700006400, 300, 86400, 96, ProfileSource::Direct};
  FoldGrid model = direct;
  model.source = ProfileSource::ShapeModel;
  const shape::SlotProfile a = fit_profile(series, direct), b = fit_profile(series, model);
  ASSERT_EQ(b.slots(), 96u);
  for (size_t w = 0; w < 96; ++w) {
    EXPECT_NEAR(a.mean[w], b.mean[w], 1e-4) << w;
    EXPECT_NEAR(a.spread[w], b.spread[w], 1e-3) << w;
    EXPECT_NEAR(a.peak[w], b.peak[w], 1e-4) << w;
  }
}

TEST(TimeArg, ParsesDatesAndUnixSeconds) {
  EXPECT_EQ(parse_time_arg("2011-04-11"), 1302480000);
  EXPECT_EQ(parse_time_arg("2011-04-11T06:30"), 1302480000 + 6 * 3600 + 1800);
  EXPECT_EQ(parse_time_arg("2011-04-11T06:30:15"), 1302480000 + 6 * 3600 + 1800 + 15);
  EXPECT_EQ(parse_time_arg("1302480000"), 1302480000);
  EXPECT_FALSE(parse_time_arg("yesterday").has_value());
  EXPECT_FALSE(parse_time_arg("2011-13-01").has_value());
  EXPECT_EQ(format_utc(1302480000 + 3600), "2011-04-11 01:00 UTC");
}

}  // namespace
}  // namespace antiphase::replay
