#include "common/admission/margin_calibrator.h"

#include <algorithm>
#include <cmath>

#include "common/admission/normal_quantile.h"

namespace antiphase::admission {

MarginCalibrator::MarginCalibrator(CalibratorConfig config) : config_(config) {
  // Nonsense configuration must not produce a nonsense margin.
  if (!(config_.target_overload_rate > 0.0 && config_.target_overload_rate < 1.0))
    config_.target_overload_rate = defaults::kTargetOverloadRate;
  if (!(config_.z_max >= config_.z_min)) config_.z_max = config_.z_min;
  z_ = std::clamp(normal_upper_quantile(config_.target_overload_rate), config_.z_min, config_.z_max);
}

void MarginCalibrator::reset_config(const CalibratorConfig& config, double z) {
  const uint64_t observations = observations_, exceedances = exceedances_;
  *this = MarginCalibrator(config);
  observations_ = observations;
  exceedances_ = exceedances;
  if (std::isfinite(z)) z_ = std::clamp(z, config_.z_min, config_.z_max);
}

void MarginCalibrator::observe_exceedance(double predicted_quantile, double measured) {
  if (!std::isfinite(predicted_quantile) || !std::isfinite(measured)) return;
  step(measured > predicted_quantile);
}

void MarginCalibrator::observe_residual(double mean, double spread, double measured) {
  if (!std::isfinite(mean) || !std::isfinite(spread) || !std::isfinite(measured)) return;
  const double excess = measured - mean;
  // A zero spread predicts exactly the mean; any excess is then an exceedance.
  const bool exceeded = spread > 0.0 ? excess / spread > z_ : excess > 0.0;
  step(exceeded);
}

void MarginCalibrator::step(bool exceeded) {
  const double p = config_.target_overload_rate;
  ++observations_;
  if (exceeded) ++exceedances_;
  // Robbins-Monro for the (1-p) quantile: E[step] = 0 exactly when P(exceed) = p.
  // The step shrinks with the number of exceedances we expected to see, so early
  // ticks move z fast and later ones settle it; the floor keeps it tracking drift.
  const double expected_exceedances = std::max(1.0, p * static_cast<double>(observations_));
  const double gain = std::max(config_.min_gain, config_.gain / std::pow(expected_exceedances, 0.7));
  z_ += gain * ((exceeded ? 1.0 : 0.0) - p);
  z_ = std::clamp(z_, config_.z_min, config_.z_max);
}

double MarginCalibrator::observed_rate() const {
  return observations_ ? static_cast<double>(exceedances_) / static_cast<double>(observations_) : 0.0;
}

}  // namespace antiphase::admission
