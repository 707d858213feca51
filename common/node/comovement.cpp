#include "common/node/comovement.h"

#include <algorithm>
#include <cmath>

namespace antiphase::node {

void CoMovementTracker::observe(const std::vector<TenantResidual>& tenants, double host_residual, double dt_s) {
  if (!std::isfinite(host_residual) || !(dt_s > 0)) return;
  const double fade = half_life_s_ > 0 ? std::pow(0.5, dt_s / half_life_s_) : 1.0;
  for (const TenantResidual& t : tenants) {
    if (!std::isfinite(t.residual)) continue;
    Sums& s = tenants_[*t.name];
    const double rest = host_residual - t.residual;  // the rest of the host, without this tenant
    s.xy = s.xy * fade + t.residual * rest * dt_s;
    s.xx = s.xx * fade + t.residual * t.residual * dt_s;
    s.yy = s.yy * fade + rest * rest * dt_s;
    s.weight_s = s.weight_s * fade + dt_s;
  }
}

CoMovementEstimate CoMovementTracker::estimate(double min_weight_s) const {
  double sum = 0;
  uint32_t n = 0;
  for (const auto& [name, s] : tenants_) {
    // A tenant alone on its host has no "rest" to move with.
    if (s.weight_s < min_weight_s || !(s.xx > 0) || !(s.yy > 0)) continue;
    sum += std::clamp(s.xy / std::sqrt(s.xx * s.yy), -1.0, 1.0);
    ++n;
  }
  return {n ? sum / n : 0.0, n};
}

}  // namespace antiphase::node
