#pragma once
// The tail of a host's normalised residual u = (measured − μ) / σ: P(u > m) for any
// margin m, from a few quantiles. The calibrator learns it from the host's own ticks;
// admission sums it over the day's slots to project the fraction of host-time above
// the limit, which is exactly what target_overload_rate promises (docs/admission.md).
// Nine points travel in the host advert, so a peer projects with the same tail.
#include <array>
#include <cstddef>

namespace antiphase::admission {

struct TailModel {
  static constexpr size_t kLevels = 9;
  // Tail probability of level k: 10^-(k+1)/2, i.e. 0.316, 0.1, 0.0316 … 3.16e-5.
  static double level(size_t k);
  // u[k]: the margin exceeded with probability level(k); non-decreasing in k.
  std::array<double, kLevels> u{};

  // Gaussian residuals: the tail a host assumes before it has measured its own.
  static TailModel gaussian();
  // P(u > m): between the points linear in Gaussian score (exact for a Gaussian tail);
  // past the ends the nearest segment continues, never flatter than a quarter of a
  // Gaussian's slope.
  double exceedance(double m) const;
  // The margin exceeded with probability p (inverse of exceedance).
  double quantile(double p) const;
  // Pointwise at least as heavy as `floor` (each u[k] ≥ floor.u[k]).
  TailModel at_least(const TailModel& floor) const;
  bool valid() const;  // finite, non-decreasing
};

}  // namespace antiphase::admission
