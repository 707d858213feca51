// /metrics values: exact counters, every digit of fractions, Prometheus' NaN/Inf.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "agent/daemon/prometheus_number.h"

using antiphase::agent::prometheus_number;

TEST(PrometheusNumber, CountersPastAMillionKeepEveryDigit) {
  EXPECT_EQ(prometheus_number(16375801), "16375801");  // the stream default printed 1.63758e+07
  EXPECT_EQ(prometheus_number(9007199254740992.0), "9007199254740992");  // 2^53: the last exact double
  EXPECT_EQ(prometheus_number(0), "0");
}

TEST(PrometheusNumber, FractionsReadBackExactly) {
  for (double v : {0.1, 1.0 / 3, 2.5e-7, 1234.5678901234, 6.02e23}) {
    const std::string text = prometheus_number(v);
    EXPECT_EQ(std::stod(text), v) << text;
  }
  EXPECT_EQ(prometheus_number(0.25), "0.25");
}

TEST(PrometheusNumber, NanAndInfinitiesAsPrometheusSpellsThem) {
  EXPECT_EQ(prometheus_number(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(prometheus_number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(prometheus_number(-std::numeric_limits<double>::infinity()), "-Inf");
}
