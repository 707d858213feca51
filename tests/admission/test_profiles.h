#pragma once
// Small constructed profiles shared by the admission tests.
#include <cstddef>
#include <vector>

#include "common/shape/slot_profile.h"

namespace antiphase::admission::testing {

// 96 quarter-hour slots at `base`, raised to `high` in [from, to), with a constant spread.
inline shape::SlotProfile day_profile(double base, double high, size_t from, size_t to, double spread) {
  shape::SlotProfile p;
  p.period_s = 86400;
  p.mean.assign(96, base);
  p.spread.assign(96, spread);
  for (size_t w = from; w < to; ++w) p.mean[w] = high;
  p.peak = p.mean;
  for (double& v : p.peak) v += 3 * spread;
  return p;
}

inline shape::SlotProfile flat(double level, double spread) { return day_profile(level, level, 0, 0, spread); }

}  // namespace antiphase::admission::testing
