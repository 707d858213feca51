#pragma once
// The antiphase placement rule in the replay: common/admission's AdmissionPolicy on the
// host's measured aggregate profile (see antiphase_packing.cpp).
#include <cstdint>
#include <memory>
#include <optional>

#include "agent/replay/packing_policy.h"

namespace antiphase::replay {

// z: admission margin; drift: relative day-to-day drift κ of tenants' slot means (0 = none);
// spread_neighbours: overrides PolicyConfig::spread_neighbours (unset: the daemon's default).
std::unique_ptr<PackingPolicy> make_antiphase_packing(const Workload& w, double z, double capacity, double drift,
                                                     std::optional<uint32_t> spread_neighbours = std::nullopt);

}  // namespace antiphase::replay
