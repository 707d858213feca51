#pragma once
// Places every function of a workload on simulated hosts with a policy (random order,
// fixed seed; first-fit or best-fit) and judges the placement on the eval window.
#include <cstdint>
#include <string>
#include <vector>

#include "agent/replay/packing_policy.h"

namespace antiphase::replay {

enum class Fit { First, Best };

struct Placement {
  std::vector<std::vector<size_t>> hosts;  // function indices per host
  size_t forced = 0;  // functions that did not fit even an empty host (given one alone)
};

struct Outcome {
  size_t hosts = 0;
  double overload_rate = 0.0;      // overloaded host-steps / host-steps (eval window)
  double overload_core_steps = 0;  // Σ max(0, load − capacity) over host-steps
  double utilisation = 0.0;        // Σ load / (hosts × capacity × steps)
  size_t overloaded_host_steps = 0;
  // Of those, the host-steps where one tenant alone used more than the capacity: no
  // placement could have avoided them, so every policy pays them (a trace whose functions
  // outgrow the chosen host size shows it here, not as a rule's mistake).
  size_t unavoidable_overloaded_host_steps = 0;
  size_t forced = 0;
};

// Visit order: a permutation of 0..n-1 from `seed` (same for every policy).
std::vector<size_t> placement_order(size_t n, uint64_t seed);

Placement place(const PackingPolicy& policy, const std::vector<size_t>& order, Fit fit);

// Judges a placement against the eval series of the workload.
Outcome evaluate(const Placement& placement, const Workload& w, double capacity);

}  // namespace antiphase::replay
