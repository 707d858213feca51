#pragma once
// Inputs and outputs of one admission decision, as plain structs so the daemon can
// turn them into JSON (see explanation_json.h) and tests can assert on numbers.
#include "common/admission/tail_model.h"
#include "common/config/defaults.h"
#include <cstddef>  // slot_profile.h uses size_t without including it
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/shape/slot_profile.h"

namespace antiphase::admission {

// Correlation of the host's and the candidate's *mean shapes* (day profiles), as
// estimated from truncated embeddings: the true value lies within rho ± bound. It
// explains and ranks (who moves against whom); the per-slot means already add the
// shapes exactly, so it does not enter the projection.
struct Correlation {
  double rho = 0.0;
  double bound = 1.0;
};

// The ρ of the projection's cross term: how the candidate's and the host's
// deviations from their slot means move together within a slot. Unknown: assume
// they move fully together.
struct CoMovement {
  double rho = 1.0;
  std::string source = "unknown: assumed fully together";
};

// What the host knows about itself.
struct HostView {
  shape::SlotProfile aggregate;        // measured sum of current tenants per tick
  double capacity_cores = 0.0;
  // What the host admits against; 0 = the policy's target_utilisation × capacity. A
  // peer's view carries the peer's own limit, so it is judged as it judges itself.
  double limit_cores = 0.0;
  double telemetry_age_s = 0.0;        // age of the newest sample behind `aggregate`
  double admitted_mean_cores = 0.0;    // sum of admitted tenants' mean load (for the optional cap)
  // Sum of the most each current tenant was ever seen to use (ShapeModel::highest);
  // NaN when unknown (a peer that does not advertise it). See PolicyConfig::accept_when_peaks_fit.
  double tenants_peak_cores = std::numeric_limits<double>::quiet_NaN();
  // Share of recent host-time (faded, half-life a day) the host was *measured* above its
  // limit. Above the target the projection has been wrong here, so it admits nothing
  // more until that falls (what fits at the tenants' peaks still does).
  double measured_overload_rate = 0.0;
  // Per slot, what the host's lumps add above their slot means at their peaks for the
  // time of day (admission::lump_excess, PolicyConfig::lump_share); empty when it has
  // none (or a peer does not say).
  std::vector<double> lump_excess;
  TailModel tail = TailModel::gaussian();  // its measured tail of normalised residuals
};

// The function asking to join. `profile` is per instance.
struct Candidate {
  std::string function;
  std::optional<shape::SlotProfile> profile;  // absent: the host has never seen it
  uint32_t instances = 1;
  double confidence = 1.0;                    // 0..1 from the shape model (history length)
  std::string sizing = "learned shape";       // where the profile came from, for the explanation
  Correlation correlation;
  CoMovement comovement;
  // Sizing supplied inline by the requester for functions without a profile.
  std::optional<double> request_mean_cores;
  std::optional<double> request_peak_cores;
  // What a request is multiplied by (>= 1): where functions admitted unmeasured used
  // more than they requested (node::NewcomerSizing), and why, for the explanation.
  double request_scale = 1.0;
  std::string request_scale_why;
  // The most one instance was ever seen to use (ShapeModel::highest per instance), for
  // the peaks-fit rule; absent: the profile's peak stands in.
  std::optional<double> highest_cores;
};

enum class UnknownFunction { SizeFromRequest, Reject };

enum class Rule {
  OverloadRate,  // projected fraction of host-time above the limit ≤ target (default)
  SlotQuantile,  // every slot's projected quantile at margin z ≤ limit (the rule before 2026-11)
};

struct PolicyConfig {
  double target_utilisation = defaults::kTargetUtilisation;  // accept while the projected quantile stays below this × capacity
  double target_overload_rate = defaults::kTargetOverloadRate;  // risk: fraction of host-time above capacity
  double max_telemetry_age_s = defaults::kStaleAfterS;  // older host data → refuse (we would be deciding blind)
  double min_confidence = defaults::kMinConfidence;  // below → candidate sized by its observed peak, flat
  UnknownFunction unknown = UnknownFunction::SizeFromRequest;
  Rule rule = Rule::OverloadRate;
  std::optional<double> max_admitted_mean_cores;  // optional cap on total admitted mean load
  // σ of host and candidate pooled over ±k neighbouring slots (see spread_pooling.h).
  uint32_t spread_neighbours = 0;
  // Peaks fit (docs/admission.md): also accept when the most each tenant and the
  // candidate ever used, added up, fits under the limit (what peak-sum packing accepts),
  // so that no target needs more hosts than packing by peaks and target 0 is the careful
  // end of the knob; and a host measured above its limit more than the target takes
  // only that. false: the projection alone.
  bool accept_when_peaks_fit = true;
  // Lumps: where a tenant (or the candidate) was seen to jump at least this share of
  // the limit above its slot mean, the jump is not overcommitted statistically: every
  // slot must hold the lumps at their peaks for the time of day on top of everyone
  // else's mean. The projection's tail describes many small deviations; a few tenants
  // that jump by a large part of the host switch regimes instead, and history says
  // little about when two of them will jump together (docs/admission.md). 0 = off.
  double lump_share = defaults::kLumpShare;
};

// Everything an operator needs to understand one decision.
struct Decision {
  bool accept = false;
  std::string function;
  uint32_t instances = 0;
  std::optional<size_t> binding_slot;  // slot where the projection is highest
  std::string binding_window;          // e.g. "14:15-14:30 UTC"
  double projected_peak_cores = 0.0;   // max over slots of the projected quantile
  double capacity_cores = 0.0;
  double limit_cores = 0.0;            // target_utilisation × capacity
  double headroom_cores = 0.0;         // limit − projected peak (negative when rejected on load)
  double correlation = 0.0;            // shape correlation, estimated from embeddings
  double correlation_bound = 0.0;      // its truncation bound
  double comovement = 0.0;             // the cross term's ρ in the formula
  std::string comovement_source;       // where that ρ came from
  std::string sizing;                  // where the candidate's profile came from
  double peak_sum_cores = 0.0;         // host peak + n × candidate peak: the "add peaks" answer
  double anticorrelation_saving_cores = 0.0;  // peak_sum − projected peak
  // Tenants' peaks + n × candidate's peak (NaN when either is unknown), and whether that
  // alone accepted a candidate the projection refused (PolicyConfig::accept_when_peaks_fit).
  double peaks_fit_cores = std::numeric_limits<double>::quiet_NaN();
  bool accepted_because_peaks_fit = false;
  // Lumps at their per-slot peaks on top of the others' means, in the worst slot (NaN
  // when the host has no lumps and the candidate is not one); above the limit refuses.
  double lumps_cores = std::numeric_limits<double>::quiet_NaN();
  double measured_overload_rate = 0.0;  // the host's, as in HostView
  double confidence = 0.0;
  double z = 0.0;                      // margin: the host's tail quantile at the target rate
  double projected_overload_rate = 0.0;  // fraction of host-time above the limit, as projected
  double target_overload_rate = 0.0;
  std::vector<std::string> reasons;    // human sentences, most important first
};

}  // namespace antiphase::admission
