#pragma once
// Placement policies compared by the replay: each decides whether a function fits a
// simulated host, given one risk knob. All but the oracle learn from the fit window only.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/replay/workload.h"
#include "common/node/node_config.h"

namespace antiphase::replay {

enum class PolicyKind {
  // What antiphased runs: one node::NodeCore per host (learned aggregate, calibrated z,
  // co-movement estimate, candidates from decoded gossip summaries); knob: the
  // calibrator's target overload rate (admission.target_overload_rate).
  Antiphase,
  // Replay-only what-if (the replay's rule before 2026-11): the admission formula with a
  // fixed z and ρ measured from both full training series, which no agent has.
  AntiphaseMeasuredRho,
  PeakSum,       // sum of per-function peaks ≤ capacity; no knob
  PercentileSum, // sum of per-function scalar pXX ≤ capacity; knob XX
  SlotPercentileSum,  // per day slot, sum of per-function slot pXX ≤ capacity; knob XX
  MeanSum,       // sum of means ≤ u × capacity; knob u
  Oracle,        // sees the eval window: its sum never exceeds capacity; a bound, not a policy
  // Experimental reference (not a product policy): the measured training-window sum of
  // host + candidate may exceed capacity on at most a fraction `knob` of training steps.
  TrainQuantile,
};

std::string to_string(PolicyKind kind);
// Returns nullopt for an unknown name.
std::optional<PolicyKind> parse_policy(const std::string& name);
std::vector<PolicyKind> all_policies();
// The knob values each policy is swept over, from most aggressive to most careful
// (so "first that meets the target" is the densest safe choice).
std::vector<double> knob_grid(PolicyKind kind);
std::string knob_name(PolicyKind kind);

// One simulated host as a policy sees it.
class HostModel {
 public:
  virtual ~HostModel() = default;
  // Headroom (cores) left if `fn` were added; nullopt if it does not fit.
  virtual std::optional<double> headroom_if_added(size_t fn) = 0;
  virtual void add(size_t fn) = 0;
};

class PackingPolicy {
 public:
  virtual ~PackingPolicy() = default;
  virtual std::unique_ptr<HostModel> new_host() const = 0;
};

struct PolicyParams {
  PolicyKind kind = PolicyKind::Antiphase;
  double knob = 0.0;
  double capacity = 8.0;
  // Antiphase only: relative day-to-day drift of each tenant's per-slot mean, added to
  // the spreads as independent per-tenant terms (κ·μ_i[w]); 0 = trust the profiles.
  double drift = 0.0;
  std::optional<uint32_t> spread_neighbours = std::nullopt;  // antiphase only: what-if override of the daemon default
  // Antiphase: the daemon's node config (capacity and target rate are replaced by the
  // fields above). Null: the built-in defaults.
  const node::NodeConfig* node = nullptr;
};

// The q-quantile (0..1) of v, interpolated; 0 for an empty v. Shared by the baselines.
double quantile(std::vector<double> v, double q);
// The same of a v already sorted ascending (the fleet keeps its histories sorted).
double quantile_of_sorted(const std::vector<double>& sorted, double q);

// Which code decides for this policy, for the report.
std::string decision_path(PolicyKind kind);

// Learns what the policy needs from `w.fit` (or `w.eval` for the oracle).
// `w` must outlive the policy and its hosts.
std::unique_ptr<PackingPolicy> make_policy(const PolicyParams& params, const Workload& w);

}  // namespace antiphase::replay
