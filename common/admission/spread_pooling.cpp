#include "common/admission/spread_pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace antiphase::admission {

shape::SlotProfile pool_spread_over_neighbours(shape::SlotProfile p, uint32_t k) {
  const size_t slots = p.spread.size();
  if (k == 0 || slots < 2) return p;
  const size_t width = std::min<size_t>(2 * static_cast<size_t>(k) + 1, slots);
  const size_t reach = (width - 1) / 2;
  std::vector<double> pooled(slots);
  for (size_t w = 0; w < slots; ++w) {
    double variance = 0.0;
    for (size_t d = 0; d < width; ++d) {
      const double s = p.spread[(w + slots - reach + d) % slots];
      variance += s * s;
    }
    pooled[w] = std::max(p.spread[w], std::sqrt(variance / static_cast<double>(width)));
  }
  p.spread = std::move(pooled);
  return p;
}

}  // namespace antiphase::admission
