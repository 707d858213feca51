#pragma once
// Human-readable time window of a profile slot ("14:15-14:30 UTC"), so an operator
// can see *when* a host would run out of room, not just a slot index.
#include <cstdint>
#include <string>

namespace antiphase::admission {

// period_s is the fold period (86400 for the day fold, 3600 for the hour fold).
// Day folds render as "HH:MM-HH:MM UTC"; other folds as "+MM:SS-+MM:SS of each period".
std::string slot_window(uint32_t period_s, size_t slots, size_t slot);

}  // namespace antiphase::admission
