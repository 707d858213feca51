#pragma once
// Learns a day-fold SlotProfile from a regularly sampled series. This is the one
// place the replay turns series into shapes, so it can be swapped for the shared
// shape model without touching the policies.
#include <cstddef>  // slot_profile.h uses size_t without including it
#include <cstdint>
#include <vector>

#include "common/shape/slot_profile.h"

namespace antiphase::replay {

// Where day profiles come from: the shared shape model (exponentially decayed, what the
// daemon uses) or plain per-slot statistics over the whole window.
enum class ProfileSource { ShapeModel, Direct };

struct FoldGrid {
  int64_t start_s = 0;  // unix time of step 0
  int64_t step_s = 300;
  uint32_t period_s = 86400;
  uint32_t slots = 96;
  ProfileSource source = ProfileSource::ShapeModel;
  // Day-fold slot of grid step i (UTC wall clock).
  uint32_t slot_of_step(size_t i) const {
    int64_t phase = (start_s + static_cast<int64_t>(i) * step_s) % period_s;
    if (phase < 0) phase += period_s;
    return static_cast<uint32_t>(phase / (period_s / slots));
  }
};

// Day profile of a series. ShapeModel: fed sample by sample into shape::ShapeModel
// (per-slot EW mean/spread/decayed peak, half-life 7 days). Direct: per-slot mean,
// standard deviation and maximum over the whole window. Either way, slots without
// samples get the series' overall statistics.
shape::SlotProfile fit_profile(const float* series, size_t steps, const FoldGrid& grid);
shape::SlotProfile fit_profile(const std::vector<double>& series, const FoldGrid& grid);

}  // namespace antiphase::replay
