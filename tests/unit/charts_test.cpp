#include <gtest/gtest.h>

#include "agent/ctl/charts.h"

using namespace antiphase::ctl;

TEST(Charts, SparklineScalesToTop) {
  EXPECT_EQ(sparkline({0, 4, 8}), " ▄█");
  EXPECT_EQ(sparkline({0.01, 8}, 8), "▁█");  // tiny but non-zero stays visible
  EXPECT_EQ(sparkline({}), "");
}

TEST(Charts, DayAxisLabelsEveryThreeHours) {
  const auto axis = time_axis(96, 86400);
  EXPECT_EQ(axis.size(), 96u);
  EXPECT_EQ(axis.substr(0, 2), "00");
  EXPECT_EQ(axis.substr(12, 2), "03");
  EXPECT_EQ(axis.substr(84, 2), "21");
  const auto hour = time_axis(60, 3600);
  EXPECT_EQ(hour.substr(15, 3), ":15");
}
