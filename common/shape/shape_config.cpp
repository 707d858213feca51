#include "common/shape/shape_config.h"

#include <cmath>

namespace antiphase::shape {
namespace {

std::optional<std::string> validate_fold(const char* name, const FoldSpec& fold) {
  if (fold.slots == 0 || fold.period_s == 0)
    return std::string(name) + " fold: slots and period_s must be positive";
  if (fold.slots > kMaxSlots)
    return std::string(name) + " fold: more than " + std::to_string(kMaxSlots) + " slots";
  // SlotProfile::slot_of uses integer slot widths, so slots must tile the period.
  if (fold.period_s % fold.slots != 0)
    return std::string(name) + " fold: period_s (" + std::to_string(fold.period_s) +
           ") is not a multiple of slots (" + std::to_string(fold.slots) + ")";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const ShapeConfig& config) {
  if (auto error = validate_fold("day", config.day)) return error;
  if (auto error = validate_fold("hour", config.hour)) return error;
  if (config.k == 0 || config.k > kMaxCoefficients)
    return "k (" + std::to_string(config.k) + ") must be between 1 and " + std::to_string(kMaxCoefficients);
  if (config.hour_k == 0 || config.hour_k > kMaxCoefficients)
    return "hour_k (" + std::to_string(config.hour_k) + ") must be between 1 and " + std::to_string(kMaxCoefficients);
  if (!(config.half_life_periods > 0) || !std::isfinite(config.half_life_periods))
    return "half_life_periods must be a positive finite number";
  if (!(config.full_confidence_s > 0) || !std::isfinite(config.full_confidence_s))
    return "full_confidence_s must be a positive finite number";
  if (!(config.highest_window_s >= 0) || !std::isfinite(config.highest_window_s))
    return "highest_window_s must be a finite number of seconds, 0 (for good) or more";
  return std::nullopt;
}

}  // namespace antiphase::shape
