#pragma once
// Re-slicing a folded profile to another slot count over the same period, e.g. a
// 288-slot (5-minute) day into the 96 slots a gossip summary carries.
#include <cstdint>

#include "common/shape/slot_profile.h"

namespace antiphase::shape {

// Each target slot pools the source slots it overlaps, weighted by overlap: mean is
// the weighted mean, spread the pooled standard deviation (within-slot variance plus
// the variance of the pooled means), peak the largest overlapping peak. Returns an
// empty profile when `slots` is 0 or the source is empty or inconsistent.
SlotProfile resample(const SlotProfile& profile, uint32_t slots);

}  // namespace antiphase::shape
