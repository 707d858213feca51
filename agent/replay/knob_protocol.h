#pragma once
// The honest protocol: each policy's risk knob is chosen on a validation split inside
// the training data (fit on its first part, judge on its held-out last part), then
// the policy is refit on the whole training window and judged once on the test window.
#include <optional>
#include <vector>

#include "agent/replay/placement.h"

namespace antiphase::replay {

struct ProtocolOptions {
  double capacity = 8.0;
  double target_overload_rate = 0.001;
  Fit fit = Fit::First;
  uint64_t seed = 1;
  size_t validation_orders = 3;  // placement orders pooled per knob in validation
  // Validation criterion. Pooled: the overload rate pooled over every fold and order
  // must meet the target. Worst run: *each* (fold, order) run must meet it on its own,
  // so a knob is not chosen because a benign fold dilutes an overloaded one.
  // Default: worst run (the documented protocol).
  bool worst_run = true;
  double drift = 0.0;              // antiphase day-to-day drift κ (see PolicyParams)
  std::optional<uint32_t> spread_neighbours;  // antiphase σ pooling override (see PolicyParams)
  node::NodeConfig node;                      // antiphase: the daemon's node config (see PolicyParams)
  std::optional<double> fixed_knob;  // skip validation and use this knob (for what-if runs)
  bool sweep_test = false;        // also judge every knob on the test window (for plots only)
};

struct KnobResult {
  double knob = 0.0;
  std::optional<Outcome> validation;  // pooled over the validation folds and orders
  std::optional<double> worst_validation_rate;  // highest overload rate of a single (fold, order) run
  std::optional<Outcome> test;        // only with sweep_test (never used to choose)
};

struct PolicyReport {
  PolicyKind kind = PolicyKind::Antiphase;
  double chosen_knob = 0.0;
  bool met_target_in_validation = true;
  std::vector<KnobResult> sweep;
  Outcome test;
  Placement test_placement;
  // The sweep entry of chosen_knob (nullptr only for a report without a sweep).
  const KnobResult* chosen() const {
    for (const KnobResult& k : sweep)
      if (k.knob == chosen_knob) return &k;
    return nullptr;
  }
};

// Each validation fold learns on its fit window and is judged on its held-out window
// (all inside, or before, the training window); overloads are pooled over folds.
// `final_run` learns on the whole training window and is judged on the test.
PolicyReport run_protocol(PolicyKind kind, const std::vector<Workload>& validation_folds,
                          const Workload& final_run, const ProtocolOptions& options);

}  // namespace antiphase::replay
