#pragma once
// A folded per-slot usage profile in plain numbers: the common currency between the
// shape model (which learns it), the admission policy (which adds profiles up) and
// the summary codec (which ships an approximation of it to peers).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace antiphase::shape {

struct SlotProfile {
  uint32_t period_s = 86400;   // fold period (day = 86400, hour = 3600)
  std::vector<double> mean;    // per-slot mean usage, cores
  std::vector<double> spread;  // per-slot standard deviation of per-tick usage, cores
  std::vector<double> peak;    // per-slot observed (decayed) peak, cores
  size_t slots() const { return mean.size(); }
  // Slot that holds unix time t (UTC wall clock, so hosts align without coordination).
  uint32_t slot_of(int64_t unix_s) const {
    const int64_t width = period_s / static_cast<int64_t>(slots());
    int64_t phase = unix_s % period_s;
    if (phase < 0) phase += period_s;
    return static_cast<uint32_t>(phase / width);
  }
};

}  // namespace antiphase::shape
