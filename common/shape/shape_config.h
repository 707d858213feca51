#pragma once
// Tuning of the shape model: which folds it keeps, how many DCT coefficients the
// embedding carries, and how fast old periods are forgotten.
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
  FoldSpec day{96, 86400};   // 15-minute slots over a UTC day
  FoldSpec hour{60, 3600};   // 1-minute slots over a UTC hour
  // DCT coefficients per profile (DC included). 32 was chosen by measurement on the
  // shared traces (docs/shape-model.md): mean |error| of the correlation estimate
  // ~0.04 versus ~0.055 at 16, at 1 KB of coefficients per function.
  uint32_t k = 32;
  double half_life_periods = 7;      // a period's weight halves after this many periods
  double full_confidence_s = 86400;  // observed seconds after which confidence is 1
};

// Why a configuration cannot be used, or nullopt when it is valid: every fold needs
// slots that divide its period exactly, 1 <= k <= slots, positive half-life.
std::optional<std::string> validate(const ShapeConfig& config);

}  // namespace antiphase::shape
