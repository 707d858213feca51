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

TEST(Charts, MemorySizesUseBinaryUnitsAndThreeDigits) {
  EXPECT_EQ(antiphase::ctl::memory_size(0), "0B");
  EXPECT_EQ(antiphase::ctl::memory_size(999), "999B");
  EXPECT_EQ(antiphase::ctl::memory_size(512ull << 20), "512M");
  EXPECT_EQ(antiphase::ctl::memory_size(1536ull << 20), "1.50G");
  EXPECT_EQ(antiphase::ctl::memory_size(72ull << 20), "72.0M");
  EXPECT_EQ(antiphase::ctl::memory_size(1000ull << 20), "0.98G") << "4 digits would not fit the column";
}
