#pragma once
// Leave-one-out co-movement of a host's tenants: for each tenant, how its deviation
// from its own slot mean moves with the rest of the host's deviation, tick by tick.
// Their average is the host's estimate of how a newcomer's deviations will move with
// the host's: measured on this host, from data every agent has, and adaptive to
// fleets whose tenants share their traffic (docs/admission.md "Co-movement").
// Pure: the caller passes residuals and tick lengths.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace antiphase::node {

struct CoMovementEstimate {
  double rho = 0.0;
  uint32_t tenants = 0;  // tenants with enough history behind their figure (0: no estimate)
};

class CoMovementTracker {
 public:
  explicit CoMovementTracker(double half_life_s) : half_life_s_(half_life_s) {}

  struct TenantResidual {
    const std::string* name;
    double residual;  // NaN: the tenant's model is too young to say
  };
  // One tick: each tenant's residual and the host aggregate's (its measured total
  // minus its slot mean). Tenants absent from the tick keep their (fading) figures.
  void observe(const std::vector<TenantResidual>& tenants, double host_residual, double dt_s);
  void forget(const std::string& tenant) { tenants_.erase(tenant); }

  // Average over tenants with at least `min_weight_s` of residual history.
  CoMovementEstimate estimate(double min_weight_s = 86400.0) const;

 private:
  struct Sums {
    double xy = 0, xx = 0, yy = 0, weight_s = 0;
  };
  double half_life_s_;
  std::map<std::string, Sums> tenants_;
};

}  // namespace antiphase::node
