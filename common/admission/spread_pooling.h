#pragma once
// Per-slot spreads estimated from few observations (one training day at a 5-min step
// gives 3 samples per 15-min slot) are noisy, and an underestimated σ in one slot lets
// a candidate in that then overloads the host there. Pooling the variance over the
// neighbouring slots (circularly: the day wraps) gives each slot more samples; taking
// the larger of the slot's own σ and the pooled one keeps a genuinely spiky slot spiky.
#include <cstdint>

#include "common/shape/slot_profile.h"

namespace antiphase::admission {

// σ'[w] = max(σ[w], sqrt(mean of σ[v]² for v in w−k … w+k)). k = 0 returns p unchanged.
shape::SlotProfile pool_spread_over_neighbours(shape::SlotProfile p, uint32_t k);

}  // namespace antiphase::admission
