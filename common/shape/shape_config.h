#pragma once
// Tuning of the shape model: which folds it keeps, how many DCT coefficients the
// embedding carries, and how fast old periods are forgotten.
#include "common/config/defaults.h"
#include <cstdint>
#include <optional>
#include <string>

namespace antiphase::shape {

// One wall-clock fold: `slots` equal slots over `period_s` seconds.
struct FoldSpec {
  uint32_t slots;
  uint32_t period_s;
};

struct ShapeConfig {
  FoldSpec day{defaults::kDaySlots, 86400};   // 15-minute slots over a UTC day
  FoldSpec hour{defaults::kHourSlots, 3600};   // 1-minute slots over a UTC hour
  // DCT coefficients per profile (DC included) of the day fold. 48 was chosen by
  // measurement on the shared traces (docs/shape-model.md): mean |error| of the
  // correlation estimate 0.050 (PlanetLab) / 0.035 (Bitbrains), versus 0.057 / 0.047
  // at 32 and 0.065 / 0.063 at 16. A fold with fewer slots keeps all of them (exact).
  uint32_t k = defaults::kDayK;
  // Same for the hour fold. Smaller so that a model stays under 4 KB; the shared
  // traces (5-minute steps) cannot tell how much the hour fold needs.
  uint32_t hour_k = defaults::kHourK;
  double half_life_periods = defaults::kHalfLifePeriods;      // a period's weight halves after this many periods
  double full_confidence_s = defaults::kFullConfidenceS;  // observed seconds after which confidence is 1
  // How long a function's highest use (ShapeModel::highest()) counts in full: a burst
  // older than this counts only as far as the decayed day profile still holds it.
  // 0 keeps it for good. Not part of the learned state: a restored model follows the
  // configured value.
  double highest_window_s = defaults::kHighestWindowS;
  // With a window: it applies only once ShapeModel::open_window() is called (the node
  // core calls it once relief it named was acted upon); until then every highest use
  // counts for good, though the uses are recorded so the window can apply at once.
  bool highest_window_after_relief = defaults::kHighestWindowAfterRelief;
};

inline constexpr uint32_t kMaxCoefficients = 1024;
inline constexpr uint32_t kMaxSlots = 86400;  // 1-second slots over a day; bounds memory

// Why a configuration cannot be used, or nullopt when it is valid: every fold needs
// slots that divide its period exactly, 1 <= k, hour_k <= kMaxCoefficients, positive half-life.
std::optional<std::string> validate(const ShapeConfig& config);

}  // namespace antiphase::shape
