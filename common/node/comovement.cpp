#include "common/node/comovement.h"

#include <algorithm>
#include <cmath>

namespace antiphase::node {

void CoMovementSums::add(double residual, double host_residual, double dt_s, double fade) {
  if (!std::isfinite(residual) || !std::isfinite(host_residual) || !(dt_s > 0)) return;
  const double rest = host_residual - residual;  // the rest of the host, without this tenant
  xy = xy * fade + residual * rest * dt_s;
  xx = xx * fade + residual * residual * dt_s;
  yy = yy * fade + rest * rest * dt_s;
  weight_s = weight_s * fade + dt_s;
}

std::optional<double> CoMovementSums::rho(double min_weight_s) const {
  if (weight_s < min_weight_s || !(xx > 0) || !(yy > 0)) return std::nullopt;
  return std::clamp(xy / std::sqrt(xx * yy), -1.0, 1.0);
}

void CoMovementAverage::include(const CoMovementSums& sums) {
  if (const auto r = sums.rho(min_weight_s_)) {
    sum_ += *r;
    ++n_;
  }
}

}  // namespace antiphase::node
