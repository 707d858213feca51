#pragma once
// Turns a target overload rate into the margin z of the admission rule, and keeps it
// honest online: each tick the caller reports what it predicted and what it then
// measured, and z moves by stochastic approximation (Robbins-Monro quantile tracking)
// until predictions are exceeded at the target rate. Starts from the Gaussian z and
// stays within [z_min, z_max] so one odd day cannot make the host admit recklessly.
// Pure: the caller passes the observations; no clock, no I/O.
#include "common/config/defaults.h"
#include <cstdint>

namespace antiphase::admission {

struct CalibratorConfig {
  double target_overload_rate = defaults::kTargetOverloadRate;  // fraction of ticks allowed above the prediction
  double z_min = 0.0;
  double z_max = 10.0;
  double gain = 0.5;       // size of the first steps, in units of z
  double min_gain = 0.01;  // floor on the step so z keeps following drift
};

class MarginCalibrator {
 public:
  explicit MarginCalibrator(CalibratorConfig config = {});

  double z() const { return z_; }
  const CalibratorConfig& config() const { return config_; }

  // One tick of a quantile prediction (μ + zσ computed with the current z) vs the measured value.
  void observe_exceedance(double predicted_quantile, double measured);
  // One tick of (μ, σ) vs measured: tracks the upper quantile of (measured − μ)/σ directly,
  // so the caller does not need to have used the current z for its prediction.
  void observe_residual(double mean, double spread, double measured);

  // Reload with the same target rate: new bounds and gains, keeping what was learned.
  void reset_config(const CalibratorConfig& config, double z);

  uint64_t observations() const { return observations_; }
  uint64_t exceedances() const { return exceedances_; }
  // Fraction of observed ticks whose prediction (at the z in force then) was exceeded.
  double observed_rate() const;

 private:
  void step(bool exceeded);

  CalibratorConfig config_;
  double z_;
  uint64_t observations_ = 0;
  uint64_t exceedances_ = 0;
};

}  // namespace antiphase::admission
