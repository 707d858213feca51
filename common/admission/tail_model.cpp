#include "common/admission/tail_model.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/admission/normal_quantile.h"

namespace antiphase::admission {
namespace {

// Points are interpolated in Gaussian-score space: g(P) = Φ⁻¹(1 − P) is linear in u
// (slope 1) for a Gaussian tail, so the Gaussian model is exact everywhere, and a
// heavier tail is a flatter line. Past the ends the nearest segment's slope continues,
// but at least kMinSlope: margins far beyond what was measured must still make an
// exceedance rarer, just more slowly than for a Gaussian.
constexpr double kMinSlope = 0.25;

// Φ⁻¹(1 − level(k)), computed once: exceedance() runs for every slot of every decision.
const std::array<double, TailModel::kLevels>& level_scores() {
  static const std::array<double, TailModel::kLevels> scores = [] {
    std::array<double, TailModel::kLevels> s{};
    for (size_t k = 0; k < TailModel::kLevels; ++k) s[k] = normal_upper_quantile(TailModel::level(k));
    return s;
  }();
  return scores;
}

double score_of_level(size_t k) { return level_scores()[k]; }

double slope(const TailModel& t, size_t k) {  // of segment k-1 .. k, in score per unit of u
  const double du = t.u[k] - t.u[k - 1];
  return std::max(kMinSlope, du > 0 ? (score_of_level(k) - score_of_level(k - 1)) / du : kMinSlope);
}

// The score at margin m: piecewise linear through (u[k], g_k).
double score(const TailModel& t, double m) {
  constexpr size_t last = TailModel::kLevels - 1;
  if (m <= t.u[0]) return score_of_level(0) - slope(t, 1) * (t.u[0] - m);
  for (size_t k = 1; k <= last; ++k)
    if (m <= t.u[k]) {
      const double du = t.u[k] - t.u[k - 1];
      const double f = du > 0 ? (m - t.u[k - 1]) / du : 1.0;
      return score_of_level(k - 1) + f * (score_of_level(k) - score_of_level(k - 1));
    }
  return score_of_level(last) + slope(t, last) * (m - t.u[last]);
}

}  // namespace

double TailModel::level(size_t k) { return std::pow(10.0, -0.5 * static_cast<double>(k + 1)); }

TailModel TailModel::gaussian() {
  TailModel t;
  for (size_t k = 0; k < kLevels; ++k) t.u[k] = normal_upper_quantile(level(k));
  return t;
}

double TailModel::exceedance(double m) const {
  if (std::isnan(m)) return 1.0;
  const double g = score(*this, m);
  return g > 38.0 ? 0.0 : normal_upper_tail(g);  // below 1e-300: not worth an erfc
}

double TailModel::quantile(double p) const {
  if (!(p > 0)) return INFINITY;
  if (!(p < 1)) return -INFINITY;
  const double g = normal_upper_quantile(p);
  constexpr size_t last = kLevels - 1;
  if (g <= score_of_level(0)) return u[0] - (score_of_level(0) - g) / slope(*this, 1);
  for (size_t k = 1; k <= last; ++k)
    if (g <= score_of_level(k)) {
      const double f = (g - score_of_level(k - 1)) / (score_of_level(k) - score_of_level(k - 1));
      return u[k - 1] + f * (u[k] - u[k - 1]);
    }
  return u[last] + (g - score_of_level(last)) / slope(*this, last);
}

TailModel TailModel::at_least(const TailModel& floor) const {
  TailModel t = *this;
  for (size_t k = 0; k < kLevels; ++k) t.u[k] = std::max(t.u[k], floor.u[k]);
  for (size_t k = 1; k < kLevels; ++k) t.u[k] = std::max(t.u[k], t.u[k - 1]);
  return t;
}

bool TailModel::valid() const {
  for (size_t k = 0; k < kLevels; ++k) {
    if (!std::isfinite(u[k])) return false;
    if (k && u[k] < u[k - 1]) return false;
  }
  return true;
}

}  // namespace antiphase::admission
