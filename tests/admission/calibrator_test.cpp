#include <gtest/gtest.h>

#include <random>

#include "common/admission/margin_calibrator.h"
#include "common/admission/normal_quantile.h"

namespace antiphase::admission {
namespace {

// Student-t with 3 degrees of freedom scaled to unit variance: heavy-tailed, so the
// Gaussian z for 0.1 % (3.09) is exceeded about 6× too often (true quantile ≈ 5.90).
double heavy_tailed(std::mt19937_64& rng) {
  static std::student_t_distribution<double> t3(3.0);
  return t3(rng) / std::sqrt(3.0);
}

TEST(MarginCalibrator, StartsAtGaussianZForTarget) {
  CalibratorConfig cfg;
  cfg.target_overload_rate = 0.001;
  EXPECT_NEAR(MarginCalibrator(cfg).z(), normal_upper_quantile(0.001), 1e-12);
}

TEST(MarginCalibrator, ConvergesToTargetRateOnHeavyTailedResiduals) {
  CalibratorConfig cfg;
  cfg.target_overload_rate = 0.001;
  MarginCalibrator cal(cfg);
  std::mt19937_64 rng(42);
  const double mean = 10.0, spread = 2.0;
  // Burn-in, then count exceedances at the z in force each tick.
  for (int i = 0; i < 1'000'000; ++i) cal.observe_residual(mean, spread, mean + spread * heavy_tailed(rng));
  size_t exceeded = 0;
  const size_t ticks = 1'000'000;
  for (size_t i = 0; i < ticks; ++i) {
    const double measured = mean + spread * heavy_tailed(rng);
    if (measured > mean + cal.z() * spread) ++exceeded;
    cal.observe_residual(mean, spread, measured);
  }
  const double rate = static_cast<double>(exceeded) / ticks;
  EXPECT_GT(rate, 0.0005);
  EXPECT_LT(rate, 0.002);
  // The Gaussian z would have been exceeded far more often.
  EXPECT_GT(cal.z(), 5.0);
  EXPECT_LT(cal.z(), 7.0);
}

TEST(MarginCalibrator, ExceedancePairsMoveZTheSameWay) {
  CalibratorConfig cfg;
  cfg.target_overload_rate = 0.01;
  MarginCalibrator cal(cfg);
  std::mt19937_64 rng(7);
  size_t exceeded = 0, counted = 0;
  for (int i = 0; i < 600'000; ++i) {
    const double residual = heavy_tailed(rng);
    const double predicted = 5.0 + cal.z() * 1.0;  // caller predicts with the current z
    const double measured = 5.0 + residual;
    if (i >= 300'000) {
      ++counted;
      exceeded += measured > predicted;
    }
    cal.observe_exceedance(predicted, measured);
  }
  const double rate = static_cast<double>(exceeded) / counted;
  EXPECT_GT(rate, 0.006);
  EXPECT_LT(rate, 0.015);
}

TEST(MarginCalibrator, StaysWithinBoundsAndIgnoresGarbage) {
  CalibratorConfig cfg;
  cfg.z_max = 4.0;
  MarginCalibrator cal(cfg);
  for (int i = 0; i < 10000; ++i) cal.observe_residual(0.0, 1.0, 100.0);  // always exceeded
  EXPECT_DOUBLE_EQ(cal.z(), 4.0);
  const uint64_t seen = cal.observations();
  cal.observe_residual(NAN, 1.0, 1.0);
  cal.observe_exceedance(1.0, INFINITY);
  EXPECT_EQ(cal.observations(), seen);
  CalibratorConfig silly;
  silly.target_overload_rate = 7.0;  // nonsense → default 0.001
  EXPECT_NEAR(MarginCalibrator(silly).config().target_overload_rate, 0.001, 1e-15);
}

TEST(MarginCalibrator, ZeroSpreadCountsAnyExcessAsExceedance) {
  MarginCalibrator cal;
  cal.observe_residual(1.0, 0.0, 1.5);
  EXPECT_EQ(cal.exceedances(), 1u);
  cal.observe_residual(1.0, 0.0, 1.0);
  EXPECT_EQ(cal.exceedances(), 1u);
  EXPECT_DOUBLE_EQ(cal.observed_rate(), 0.5);
}

}  // namespace
}  // namespace antiphase::admission
