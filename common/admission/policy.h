#pragma once
// The admission rule. Per day slot w, with n instances of candidate c, the projected
// load has mean M[w] = μ_H[w] + n·μ_c[w] and spread S[w] = sqrt(σ²_H + n²σ²_c + 2ρσ_H·nσ_c).
// μ_H, σ_H come from the *measured* host aggregate, so covariances among current
// tenants are measured, not assumed; only the host↔candidate term needs ρ (the
// co-movement estimate). Two rules (PolicyConfig::rule):
//   overload rate (default): accept iff mean_w T((L − M[w]) / S[w]) ≤ target rate, where
//     T is the host's measured tail of normalised residuals and L its limit: the
//     projected fraction of host-time above the limit, which is what the target promises;
//   slot quantile: accept iff max_w M[w] + z·S[w] ≤ L (z = T's quantile at the target).
// Pure: no clock, no I/O; the caller passes telemetry age, the tail and z.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/admission/decision.h"
#include "common/admission/tail_model.h"

namespace antiphase::admission {

// Per-slot projection of host + candidate, exposed for tests, ranking and the replay.
struct Projection {
  std::vector<double> mean;      // μ_H[w] + n·μ_c[w]
  std::vector<double> spread;    // sqrt(σ_H² + n²σ_c² + 2ρ·σ_H·n·σ_c)
  std::vector<double> quantile;  // Q[w] = mean + z·spread
  size_t binding_slot = 0;       // argmax_w Q[w]
  double peak = 0.0;             // Q[binding_slot]
};

// Fraction of the day the projected load is above `limit`: the mean over slots of
// tail((limit − delta − mean[w]) / spread[w]). `worst_slot` gets the slot that
// contributes most. delta: load added (or, negative, removed) in every slot.
double overload_rate(const Projection& p, double limit, const TailModel& tail, double delta = 0.0,
                     size_t* worst_slot = nullptr);
// The flat load that could still be added with overload_rate ≤ target (negative: the
// load to shed to get there), to within 0.5 % of the limit.
double rate_headroom(const Projection& p, double limit, const TailModel& tail, double target);

// Q[w] for a host aggregate plus n instances of a candidate profile (same fold).
// Profiles must have the same number of slots (checked by decide()).
Projection project(const shape::SlotProfile& host, const shape::SlotProfile& candidate, uint32_t instances,
                   double rho, double z);

// PolicyConfig::lump_share: per slot, how far a tenant's peak for that time of day rose
// above its mean there, where that is at least `jump` cores (a lump), else 0. The
// per-slot (decayed) peaks keep *when* it jumped; they are scaled so their top is
// `highest`, the most it was ever seen to use (decay forgets how high a jump weeks ago
// went, not that it can come back).
std::vector<double> lump_excess(const shape::SlotProfile& p, double highest, double jump);

class AdmissionPolicy {
 public:
  explicit AdmissionPolicy(PolicyConfig config) : config_(std::move(config)) {}
  const PolicyConfig& config() const { return config_; }

  // Decides whether the candidate may join, with z from the caller's calibrator.
  Decision decide(const HostView& host, const Candidate& candidate, double z) const;
  // The per-instance profile decide() would size the candidate with on a host whose
  // aggregate has `host_shape`'s fold (unknown and low-confidence rules applied), or
  // nullopt with the reason in *why.
  std::optional<shape::SlotProfile> size(const Candidate& candidate, const shape::SlotProfile& host_shape,
                                         std::string* why) const;

 private:
  PolicyConfig config_;
};

}  // namespace antiphase::admission
