#pragma once
// Everything one node core needs to know about its host and its rules. Built from the
// agent's config file by agent/config_map (the one mapping the daemon, the replay and
// the tests share); defaults come from common/config/defaults.h.
#include "common/config/defaults.h"
#include <cstdint>
#include <string>

#include "common/admission/decision.h"
#include "common/admission/margin_calibrator.h"
#include "common/admission/memory_guard.h"
#include "common/node/newcomer_sizing.h"
#include "common/shape/shape_config.h"

namespace antiphase::node {

// How the projection's cross term ρ (co-movement of host and candidate within a slot)
// is estimated; see docs/admission.md "Co-movement" for the measurements behind it.
enum class CoMovementMode {
  Learned,  // the host's leave-one-out estimate (prior without evidence), raised by a
            // candidate↔host sketch correlation that is significant (the default)
  Host,     // the host's leave-one-out estimate only (prior without evidence)
  Sketch,   // the prior, raised by a significant sketch correlation
  Fixed,    // always `prior`
  Shape,    // shape correlation + its bound (the rule before 2026-11; what-if only)
};

struct CoMovementConfig {
  CoMovementMode mode = CoMovementMode::Learned;
  // The host's figure while it has no tenant with a day of history (Learned, Host),
  // the base of Sketch, and the value of Fixed.
  double prior = defaults::kComovementPrior;
  // Sketches must share at least this many complete hours to be correlated.
  uint32_t min_sketch_hours = 24;
  // Leave-one-out evidence fades with this half-life, so it follows drift.
  double half_life_s = 7 * 86400.0;
};

// Memory is not overcommitted the way CPU is: a candidate must fit next to what the
// tenants hold (common/admission/memory_guard.h).
struct MemoryConfig {
  admission::MemoryGuardConfig guard;
  uint64_t capacity_bytes = 0;  // 0: the host's MemTotal (Tick::memory_total_bytes)
  uint64_t reserve_bytes = defaults::kMemoryReserveBytes;
};

struct NodeConfig {
  shape::ShapeConfig shape;
  admission::PolicyConfig policy;
  admission::CalibratorConfig calibrator;
  CoMovementConfig comovement;
  MemoryConfig memory;
  NewcomerConfig newcomers;
  double capacity_cores = 1.0;
  double relief_after_s = defaults::kReliefAfterS;  // relief.h; 0 = never
  uint32_t max_heard_functions = defaults::kMaxHeardFunctions;  // 0: no bound
};

}  // namespace antiphase::node
