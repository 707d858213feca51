#pragma once
// The admission rule. Per day slot w, with n instances of candidate c:
//   Q[w] = μ_H[w] + n·μ_c[w] + z·sqrt(σ²_H[w] + n²σ²_c[w] + 2ρ·σ_H[w]·n·σ_c[w])
// accept iff max_w Q[w] ≤ target_utilisation × capacity. μ_H, σ_H come from the
// *measured* host aggregate, so covariances among current tenants are measured, not
// assumed; only the host↔candidate term needs ρ, used conservatively (ρ + bound).
// Pure: no clock, no I/O; the caller passes telemetry age and z (see MarginCalibrator).
#include <utility>
#include <vector>

#include "common/admission/decision.h"

namespace antiphase::admission {

// Per-slot projection of host + candidate, exposed for tests, ranking and the replay.
struct Projection {
  std::vector<double> quantile;  // Q[w]
  size_t binding_slot = 0;       // argmax_w Q[w]
  double peak = 0.0;             // Q[binding_slot]
};

// Q[w] for a host aggregate plus n instances of a candidate profile (same fold).
// Profiles must have the same number of slots (checked by decide()).
Projection project(const shape::SlotProfile& host, const shape::SlotProfile& candidate, uint32_t instances,
                   double rho, double z);

class AdmissionPolicy {
 public:
  explicit AdmissionPolicy(PolicyConfig config) : config_(std::move(config)) {}
  const PolicyConfig& config() const { return config_; }

  // Decides whether the candidate may join, with z from the caller's calibrator.
  Decision decide(const HostView& host, const Candidate& candidate, double z) const;

 private:
  PolicyConfig config_;
};

}  // namespace antiphase::admission
