#include "common/shape/embedding.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/shape/dct_basis.h"

namespace antiphase::shape {
namespace {

// A profile whose variation is below this fraction of its energy is treated as flat
// (correlation 0). exact_correlation() uses the smaller threshold, so whenever the
// embedding calls a profile non-flat, the exact computation agrees despite rounding.
constexpr double kFlatFractionEmbedding = 2e-6;
constexpr double kFlatFractionExact = 1e-6;
// Rounding margin added to residual energies (relative to centred energy): keeps the
// bound valid against cancellation in "energy minus retained coefficients".
constexpr double kResidualPadding = 1e-12;
// Covers the rest of the rounding: energies and coefficients maintained incrementally
// drift by at most ~1e-13 of the energy between full recomputations (every 1024
// samples), i.e. ~1e-7 relative for the least-varied profile not treated as flat.
constexpr double kNumericalMargin = 1e-6;

double sum_of_squares(const Eigen::VectorXd& v, Eigen::Index from, Eigen::Index to) {
  return to > from ? v.segment(from, to - from).squaredNorm() : 0.0;
}

// Largest angle between a vector of norm `norm` and any vector within `error` of it.
double perturbation_angle(double error, double norm) {
  if (error <= 0) return 0;
  if (error >= norm) return std::numbers::pi;
  return std::asin(error / norm);
}

}  // namespace

double FoldEmbedding::mean_centered_energy() const {
  const double dc = mean_coef.size() > 0 ? mean_coef[0] : 0.0;
  return std::max(0.0, mean_energy - dc * dc);
}

double FoldEmbedding::mean_residual_energy() const {
  return std::max(0.0, mean_centered_energy() - sum_of_squares(mean_coef, 1, mean_coef.size()));
}

CorrelationEstimate correlate(const FoldEmbedding& a, const FoldEmbedding& b) {
  const CorrelationEstimate unknown{0.0, 1.0};
  if (a.empty() || b.empty() || a.slots != b.slots || a.mean_coef.size() == 0 ||
      b.mean_coef.size() == 0)
    return unknown;
  const double centered_a = a.mean_centered_energy();
  const double centered_b = b.mean_centered_energy();
  if (centered_a <= kFlatFractionEmbedding * a.mean_energy || centered_a <= 0 ||
      centered_b <= kFlatFractionEmbedding * b.mean_energy || centered_b <= 0)
    return unknown;

  // AC coefficients 1..shared-1 are known for both; everything past them is residual.
  // Orthonormality: <a,b> = sum_{j<shared} a_j b_j + <residual_a, residual_b>, and
  // Cauchy-Schwarz bounds the last term by the product of residual norms.
  const Eigen::Index shared = std::min(a.mean_coef.size(), b.mean_coef.size());
  const double inner = a.mean_coef.segment(1, shared - 1).dot(b.mean_coef.segment(1, shared - 1));
  const double residual_a =
      std::max(0.0, centered_a - sum_of_squares(a.mean_coef, 1, shared)) + kResidualPadding * centered_a;
  const double residual_b =
      std::max(0.0, centered_b - sum_of_squares(b.mean_coef, 1, shared)) + kResidualPadding * centered_b;
  const double norm_a = std::sqrt(centered_a), norm_b = std::sqrt(centered_b);
  const double estimate = inner / (norm_a * norm_b);
  const double truncation = std::sqrt(residual_a * residual_b) / (norm_a * norm_b);

  // Quantisation: the described profiles may differ from the true ones by
  // *_error_l2; centring cannot enlarge that, so each true centred vector lies within
  // a known angle of the described one, and angles add along the sphere.
  const double slack = perturbation_angle(a.mean_error_l2, norm_a) +
                       perturbation_angle(b.mean_error_l2, norm_b);
  const double angle_low = std::acos(std::clamp(estimate + truncation, -1.0, 1.0));
  const double angle_high = std::acos(std::clamp(estimate - truncation, -1.0, 1.0));
  const double rho_high = std::cos(std::clamp(angle_low - slack, 0.0, std::numbers::pi));
  const double rho_low = std::cos(std::clamp(angle_high + slack, 0.0, std::numbers::pi));
  return {(rho_high + rho_low) / 2, (rho_high - rho_low) / 2 + kNumericalMargin};
}

CorrelationEstimate correlate(const Embedding& a, const Embedding& b, Fold fold) {
  return fold == Fold::day ? correlate(a.day, b.day) : correlate(a.hour, b.hour);
}

double exact_correlation(const SlotProfile& a, const SlotProfile& b) {
  const size_t n = a.mean.size();
  if (n == 0 || b.mean.size() != n) return 0;
  double mean_a = 0, mean_b = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_a += a.mean[i];
    mean_b += b.mean[i];
  }
  mean_a /= n;
  mean_b /= n;
  double cross = 0, var_a = 0, var_b = 0, energy_a = 0, energy_b = 0;
  for (size_t i = 0; i < n; ++i) {
    const double da = a.mean[i] - mean_a, db = b.mean[i] - mean_b;
    cross += da * db;
    var_a += da * da;
    var_b += db * db;
    energy_a += a.mean[i] * a.mean[i];
    energy_b += b.mean[i] * b.mean[i];
  }
  if (var_a <= kFlatFractionExact * energy_a || var_a <= 0 ||
      var_b <= kFlatFractionExact * energy_b || var_b <= 0)
    return 0;
  return std::clamp(cross / std::sqrt(var_a * var_b), -1.0, 1.0);
}

FoldEmbedding embed_profile(const SlotProfile& profile, uint32_t k) {
  FoldEmbedding out;
  const uint32_t slots = static_cast<uint32_t>(profile.mean.size());
  if (slots == 0 || profile.spread.size() != slots) return out;
  k = std::min(k, slots);
  const DctBasis& basis = dct_basis(slots, k);
  const Eigen::Map<const Eigen::VectorXd> mean(profile.mean.data(), slots);
  const Eigen::Map<const Eigen::VectorXd> spread(profile.spread.data(), slots);
  out.slots = slots;
  out.period_s = profile.period_s;
  out.mean_coef = basis.transpose() * mean;
  out.spread_coef = basis.transpose() * spread;
  out.mean_energy = mean.squaredNorm();
  out.spread_energy = spread.squaredNorm();
  return out;
}

}  // namespace antiphase::shape
