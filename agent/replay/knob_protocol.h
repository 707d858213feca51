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
  bool sweep_test = false;        // also judge every knob on the test window (for plots only)
};

struct KnobResult {
  double knob = 0.0;
  std::optional<Outcome> validation;  // pooled over the validation orders
  std::optional<Outcome> test;        // only with sweep_test (never used to choose)
};

struct PolicyReport {
  PolicyKind kind = PolicyKind::Antiphase;
  double chosen_knob = 0.0;
  bool met_target_in_validation = true;
  std::vector<KnobResult> sweep;
  Outcome test;
  Placement test_placement;
};

// `validation` learns on the validation-fit window and is judged on the held-out
// window; `final_run` learns on the whole training window and is judged on the test.
PolicyReport run_protocol(PolicyKind kind, const Workload& validation, const Workload& final_run,
                          const ProtocolOptions& options);

}  // namespace antiphase::replay
