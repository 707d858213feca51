#pragma once
// Learns the tail of the host's normalised residual u = (measured − μ) / σ from what the
// host itself measured: each tick in a slot that matters for overload (the caller picks
// them) the caller reports the host's prediction for the slot (mean μ, spread σ) and
// what it then measured. The tail is a histogram of u over recent host-time
// (exponentially faded, half-life a week), mixed with the Gaussian tail weighted as
// prior_exceedances / target observations; z is its quantile at the target rate.
// A heavy-tailed host gets a larger margin than a Gaussian one; a calm week lowers it
// again as the storm fades.
//
// Why a quantile of a faded histogram, not stochastic approximation: at p = 0.1 % a
// Robbins-Monro step after an exceedance needs ~1/p quiet ticks to be undone, so with
// 5-minute ticks one burst kept z near its cap for weeks (measured in the replay, see
// docs/admission.md). Pure: the caller passes time; no clock, no I/O.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/admission/tail_model.h"
#include "common/config/defaults.h"

namespace antiphase::admission {

struct CalibratorConfig {
  double target_overload_rate = defaults::kTargetOverloadRate;  // fraction of host-time above the limit
  double z_min = 0.0;
  double z_max = 10.0;
  double half_life_s = 7 * 86400.0;  // how fast old host-time stops counting
  // The measured tail is mixed with the Gaussian one as if the Gaussian had been seen in
  // this many observations per unit of 1/target: a tail at rate p is only known after
  // many times 1/p observations (5/p = 5,000 at 0.1 %: an hour and a half of 1-second
  // ticks, but 17 days of 5-minute ones), so a single outlier cannot set the margin.
  double prior_exceedances = defaults::kTailPriorExceedances;
};

class MarginCalibrator {
 public:
  explicit MarginCalibrator(CalibratorConfig config = {});

  // The margin exceeded at the target rate: tail().quantile(target).
  double z() const;
  // The measured tail of the normalised residual, mixed with the Gaussian prior.
  const TailModel& tail() const;
  const CalibratorConfig& config() const { return config_; }

  // One tick of `dt_s` seconds ending at now_s: the host predicted (mean, spread) for it
  // and then measured `measured`.
  void observe_residual(double mean, double spread, double measured, double now_s, double dt_s);

  // Reload: new bounds and target; what was measured stays (the histogram is the same
  // whatever the target), so z follows a new target at once.
  void reset_config(const CalibratorConfig& config);

  uint64_t observations() const { return observations_; }
  uint64_t exceedances() const { return exceedances_; }
  // Fraction of observed ticks whose prediction (at the z in force then) was exceeded.
  double observed_rate() const;

  // State-file access: bins of the normalised residual, inflated like FoldedProfile's.
  struct Raw {
    double base_s = 0;
    std::vector<float> bins;
    uint64_t observations = 0, exceedances = 0;
  };
  Raw raw() const;
  bool restore(const Raw& raw);

 private:
  size_t bin_of(double u) const;
  double growth(double now_s) const;
  void renormalise(double now_s);

  CalibratorConfig config_;
  // bins_[0]: u < z_min; bins_[i]: [z_min + (i-1)·w, z_min + i·w); last: u ≥ z_max.
  std::vector<double> bins_;
  double total_ = 0;
  double base_s_ = 0;  // time whose growth factor is 1
  double latest_s_ = 0;
  double last_dt_s_ = 1.0;  // a typical observation's weight, for the prior
  bool seen_any_ = false;
  uint64_t observations_ = 0;
  uint64_t exceedances_ = 0;
  mutable TailModel cached_tail_;
  mutable double cached_z_ = 0;
  mutable bool dirty_ = true;
};

}  // namespace antiphase::admission
