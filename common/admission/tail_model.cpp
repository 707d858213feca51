#include "common/admission/tail_model.h"

#include <algorithm>
#include <cmath>

#include "common/admission/normal_quantile.h"

namespace antiphase::admission {
namespace {

// Past the last point the tail keeps decaying at the last segment's rate, but at
// least this fast (decades of probability per unit of u): a tail that looked flat in
// the data must not promise that huge margins are still exceeded, nor that they are
// never exceeded. 0.5 decades per σ is far heavier than Gaussian past 4σ.
constexpr double kMinDecadesPerUnit = 0.5;

double log_level(size_t k) { return -0.5 * static_cast<double>(k + 1); }

}  // namespace

double TailModel::level(size_t k) { return std::pow(10.0, log_level(k)); }

TailModel TailModel::gaussian() {
  TailModel t;
  for (size_t k = 0; k < kLevels; ++k) t.u[k] = normal_upper_quantile(level(k));
  return t;
}

double TailModel::exceedance(double m) const {
  if (std::isnan(m)) return 1.0;
  if (m <= u[0]) return 1.0;
  for (size_t k = 1; k < kLevels; ++k) {
    if (m <= u[k]) {
      const double span = u[k] - u[k - 1];
      const double f = span > 0 ? (m - u[k - 1]) / span : 1.0;
      return std::pow(10.0, log_level(k - 1) + f * (log_level(k) - log_level(k - 1)));
    }
  }
  const double span = u[kLevels - 1] - u[kLevels - 2];
  const double decades_per_unit = std::max(kMinDecadesPerUnit, span > 0 ? 0.5 / span : kMinDecadesPerUnit);
  return std::pow(10.0, log_level(kLevels - 1) - decades_per_unit * (m - u[kLevels - 1]));
}

double TailModel::quantile(double p) const {
  if (!(p > 0)) return INFINITY;
  const double lp = std::log10(std::min(p, level(0)));
  for (size_t k = 1; k < kLevels; ++k) {
    if (lp >= log_level(k)) {
      const double f = (lp - log_level(k - 1)) / (log_level(k) - log_level(k - 1));
      return u[k - 1] + f * (u[k] - u[k - 1]);
    }
  }
  const double span = u[kLevels - 1] - u[kLevels - 2];
  const double decades_per_unit = std::max(kMinDecadesPerUnit, span > 0 ? 0.5 / span : kMinDecadesPerUnit);
  return u[kLevels - 1] + (log_level(kLevels - 1) - lp) / decades_per_unit;
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
