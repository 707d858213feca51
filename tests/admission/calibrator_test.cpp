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
  double t = 0;
  // Burn-in (1-second ticks, a week's half-life), then count exceedances at the z in force each tick.
  for (int i = 0; i < 1'000'000; ++i) cal.observe_residual(mean, spread, mean + spread * heavy_tailed(rng), ++t, 1.0);
  size_t exceeded = 0;
  const size_t ticks = 1'000'000;
  for (size_t i = 0; i < ticks; ++i) {
    const double measured = mean + spread * heavy_tailed(rng);
    if (measured > mean + cal.z() * spread) ++exceeded;
    cal.observe_residual(mean, spread, measured, ++t, 1.0);
  }
  const double rate = static_cast<double>(exceeded) / ticks;
  EXPECT_GT(rate, 0.0005);
  EXPECT_LT(rate, 0.002);
  // The Gaussian z would have been exceeded far more often.
  EXPECT_GT(cal.z(), 5.0);
  EXPECT_LT(cal.z(), 7.0);
}

TEST(MarginCalibrator, OneBurstIsForgottenAsItFades) {
  // 5-minute ticks, as in the replay: a two-hour burst of residuals at 8σ, then calm
  // Gaussian weeks. Robbins-Monro kept z near its cap for weeks after such a burst;
  // the faded quantile returns to the calm one within a few half-lives.
  CalibratorConfig cfg;
  cfg.target_overload_rate = 0.001;
  MarginCalibrator cal(cfg);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> calm(0.0, 1.0);
  double t = 0;
  for (int i = 0; i < 2016; ++i) cal.observe_residual(0.0, 1.0, calm(rng), t += 300, 300);
  EXPECT_NEAR(cal.z(), normal_upper_quantile(0.001), 0.5);  // a calm week: about Gaussian
  for (int i = 0; i < 24; ++i) cal.observe_residual(0.0, 1.0, 8.0, t += 300, 300);
  EXPECT_GT(cal.z(), 7.5);  // the burst is far more than 0.1 % of the host-time seen
  for (int i = 0; i < 5 * 2016; ++i) cal.observe_residual(0.0, 1.0, calm(rng), t += 300, 300);
  EXPECT_NEAR(cal.z(), normal_upper_quantile(0.001), 0.5);  // five half-lives later: forgotten
}

TEST(MarginCalibrator, ANewTargetMovesZAtOnceFromWhatWasMeasured) {
  CalibratorConfig cfg;
  cfg.target_overload_rate = 0.001;
  MarginCalibrator cal(cfg);
  std::mt19937_64 rng(5);
  double t = 0;
  for (int i = 0; i < 200'000; ++i) cal.observe_residual(0.0, 1.0, heavy_tailed(rng), ++t, 1.0);
  const double strict = cal.z();
  cfg.target_overload_rate = 0.05;
  cal.reset_config(cfg);
  EXPECT_LT(cal.z(), strict - 1.0);
  EXPECT_GT(cal.z(), 1.0);
  EXPECT_EQ(cal.observations(), 200'000u);
}

TEST(MarginCalibrator, StaysWithinBoundsAndIgnoresGarbage) {
  CalibratorConfig cfg;
  cfg.z_max = 4.0;
  MarginCalibrator cal(cfg);
  for (int i = 0; i < 10000; ++i) cal.observe_residual(0.0, 1.0, 100.0, i, 1.0);  // always exceeded
  EXPECT_DOUBLE_EQ(cal.z(), 4.0);
  const uint64_t seen = cal.observations();
  cal.observe_residual(NAN, 1.0, 1.0, 1e4, 1.0);
  cal.observe_residual(1.0, 1.0, INFINITY, 1e4, 1.0);
  cal.observe_residual(1.0, 1.0, 1.0, 1e4, 0.0);
  EXPECT_EQ(cal.observations(), seen);
  CalibratorConfig silly;
  silly.target_overload_rate = 7.0;  // nonsense → default 0.001
  EXPECT_NEAR(MarginCalibrator(silly).config().target_overload_rate, 0.001, 1e-15);
}

TEST(MarginCalibrator, ZeroSpreadCountsAnyExcessAsExceedance) {
  MarginCalibrator cal;
  cal.observe_residual(1.0, 0.0, 1.5, 1.0, 1.0);
  EXPECT_EQ(cal.exceedances(), 1u);
  cal.observe_residual(1.0, 0.0, 1.0, 2.0, 1.0);
  EXPECT_EQ(cal.exceedances(), 1u);
  EXPECT_DOUBLE_EQ(cal.observed_rate(), 0.5);
}

}  // namespace
}  // namespace antiphase::admission
