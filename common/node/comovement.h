#pragma once
// Leave-one-out co-movement of a host's tenants: for each tenant, how its deviation
// from its own slot mean moves with the rest of the host's deviation, tick by tick.
// Their average is the host's estimate of how a newcomer's deviations will move with
// the host's: measured on this host, from data every agent has, and adaptive to
// fleets whose tenants share their traffic (docs/admission.md "Co-movement").
// Pure: the caller passes residuals and tick lengths.
#include <cstdint>
#include <optional>

namespace antiphase::node {

// One tenant's exponentially faded second moments of (its residual, the rest's).
struct CoMovementSums {
  double xy = 0, xx = 0, yy = 0, weight_s = 0;

  // `fade` = 0.5^(dt / half-life); a NaN residual (model too young) adds nothing.
  void add(double residual, double host_residual, double dt_s, double fade);
  // The tenant's correlation with the rest of the host, once it has `min_weight_s` of
  // history and the rest of the host moved at all (a tenant alone has no "rest").
  std::optional<double> rho(double min_weight_s) const;
};

struct CoMovementEstimate {
  double rho = 0.0;
  uint32_t tenants = 0;  // tenants with enough history behind their figure (0: no estimate)
};

// Averages the tenants' figures; call include() for each tenant.
class CoMovementAverage {
 public:
  explicit CoMovementAverage(double min_weight_s = 86400.0) : min_weight_s_(min_weight_s) {}
  void include(const CoMovementSums& sums);
  CoMovementEstimate estimate() const { return {n_ ? sum_ / n_ : 0.0, n_}; }

 private:
  double min_weight_s_;
  double sum_ = 0;
  uint32_t n_ = 0;
};

}  // namespace antiphase::node
