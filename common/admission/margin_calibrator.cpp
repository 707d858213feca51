#include "common/admission/margin_calibrator.h"

#include <algorithm>
#include <cmath>

#include "common/admission/normal_quantile.h"

namespace antiphase::admission {
namespace {

constexpr double kBinWidth = 0.05;
// New observations weigh growth(t) instead of old ones shrinking each tick; when the
// factor gets large every bin is rescaled once (as in shape::FoldedProfile).
constexpr double kMaxGrowth = 1048576.0;

}  // namespace

MarginCalibrator::MarginCalibrator(CalibratorConfig config) { reset_config(config); }

void MarginCalibrator::reset_config(const CalibratorConfig& config) {
  config_ = config;
  // Nonsense configuration must not produce a nonsense margin.
  if (!(config_.target_overload_rate > 0.0 && config_.target_overload_rate < 1.0))
    config_.target_overload_rate = defaults::kTargetOverloadRate;
  if (!(config_.z_max >= config_.z_min)) config_.z_max = config_.z_min;
  if (!(config_.half_life_s > 0)) config_.half_life_s = 7 * 86400.0;
  const size_t bins = static_cast<size_t>(std::ceil((config_.z_max - config_.z_min) / kBinWidth)) + 2;
  if (bins_.size() != bins) {  // another range: what was measured no longer lines up
    bins_.assign(bins, 0.0);
    total_ = 0;
  }
  dirty_ = true;
}

size_t MarginCalibrator::bin_of(double u) const {
  if (!(u >= config_.z_min)) return 0;  // NaN (no excess at zero spread) lands here too
  if (u >= config_.z_max) return bins_.size() - 1;
  return std::min(bins_.size() - 2, 1 + static_cast<size_t>((u - config_.z_min) / kBinWidth));
}

double MarginCalibrator::growth(double now_s) const { return std::exp2((now_s - base_s_) / config_.half_life_s); }

void MarginCalibrator::renormalise(double now_s) {
  const double factor = 1.0 / growth(now_s);
  for (double& b : bins_) b *= factor;
  total_ *= factor;
  base_s_ = now_s;
}

void MarginCalibrator::observe_residual(double mean, double spread, double measured, double now_s, double dt_s) {
  if (!std::isfinite(mean) || !std::isfinite(spread) || !std::isfinite(measured) || !std::isfinite(now_s) ||
      !(dt_s > 0) || !std::isfinite(dt_s))
    return;
  if (!seen_any_) {
    seen_any_ = true;
    base_s_ = latest_s_ = now_s;
  }
  if (growth(now_s) > kMaxGrowth) renormalise(now_s);
  latest_s_ = std::max(latest_s_, now_s);
  last_dt_s_ = dt_s;
  const double excess = measured - mean;
  // A zero spread predicts exactly the mean; any excess is then off the scale.
  const double u = spread > 0.0 ? excess / spread : (excess > 0.0 ? INFINITY : -INFINITY);
  ++observations_;
  if (u > z()) ++exceedances_;
  const double w = dt_s * std::max(growth(now_s), 1e-300);
  bins_[bin_of(u)] += w;
  total_ += w;
  dirty_ = true;
}

const TailModel& MarginCalibrator::tail() const {
  if (!dirty_) return cached_tail_;
  dirty_ = false;
  TailModel t = TailModel::gaussian();
  // total_ and bins_ are inflated by growth(latest); the prior must be too, to weigh as
  // that many observations seen now.
  const double prior = config_.prior_exceedances / config_.target_overload_rate * last_dt_s_ *
                       (seen_any_ ? std::max(growth(latest_s_), 1e-300) : 1.0);
  const double mass = total_ + prior;
  if (total_ > 0) {
    // Per level: the smallest upper bin edge where the mixed tail mass falls to the level.
    size_t k = 0;
    double above = total_;
    for (size_t i = 0; i < bins_.size() && k < TailModel::kLevels; ++i) {
      above -= bins_[i];
      const double edge = i == 0 ? config_.z_min : config_.z_min + static_cast<double>(i) * kBinWidth;
      const double mixed = (above + prior * normal_upper_tail(edge)) / mass;
      while (k < TailModel::kLevels && mixed <= TailModel::level(k)) t.u[k++] = edge;
    }
    for (; k < TailModel::kLevels; ++k) t.u[k] = config_.z_max;  // more than the level is off the scale
  }
  cached_tail_ = t;
  cached_z_ = std::clamp(t.quantile(config_.target_overload_rate), config_.z_min, config_.z_max);
  return cached_tail_;
}

double MarginCalibrator::z() const {
  tail();
  return cached_z_;
}

double MarginCalibrator::observed_rate() const {
  return observations_ ? static_cast<double>(exceedances_) / static_cast<double>(observations_) : 0.0;
}

MarginCalibrator::Raw MarginCalibrator::raw() const {
  Raw r;
  r.base_s = base_s_;
  r.bins.assign(bins_.begin(), bins_.end());
  r.observations = observations_;
  r.exceedances = exceedances_;
  return r;
}

bool MarginCalibrator::restore(const Raw& raw) {
  if (raw.bins.size() != bins_.size() || !std::isfinite(raw.base_s) || raw.exceedances > raw.observations) return false;
  double total = 0;
  for (float b : raw.bins) {
    if (!std::isfinite(b) || b < 0) return false;
    total += b;
  }
  std::copy(raw.bins.begin(), raw.bins.end(), bins_.begin());
  total_ = total;
  base_s_ = latest_s_ = raw.base_s;
  seen_any_ = total > 0;
  observations_ = raw.observations;
  exceedances_ = raw.exceedances;
  dirty_ = true;
  return true;
}

}  // namespace antiphase::admission
