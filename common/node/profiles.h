#pragma once
// Small operations on day profiles that the node core applies to tenants and candidates
// alike: per instance, raised by a level shift, on another slot count, checked, filled.
#include <cstdint>
#include <string>
#include <vector>

#include "common/shape/slot_profile.h"

namespace antiphase::node {

// A function's learned profile covers all its instances on the host that learned it;
// a candidate is sized per instance. Dividing the spread by n too assumes the
// instances move together, which overstates rather than understates the risk.
shape::SlotProfile per_instance(shape::SlotProfile p, uint32_t instances);
// A profile raised by a recent level shift (ResidualSketch::recent_shift): what the
// function runs at now, where its faded slot means still remember it quieter. A slot's
// peak rises with its mean but not above `highest`, the most the function was ever
// seen to use (same instances as `p`): the shift is a projection, a peak is observed,
// and peaks fit must compare what packing by peaks compares.
shape::SlotProfile shifted(shape::SlotProfile p, double shift, double highest);
// Profiles learned or declared with another slot count are brought to the host's.
shape::SlotProfile on_slots_of(const shape::SlotProfile& host, const shape::SlotProfile& candidate);
// Why a declared day profile cannot be used ("" when it can).
std::string profile_problem(const shape::SlotProfile& p);
// Fills a host's never-observed day slots with its observed peak: an empty slot must
// not promise headroom nobody measured.
shape::SlotProfile fill_unobserved(shape::SlotProfile profile, const std::vector<bool>& observed, double peak);
// A number for a sentence ("%.2f").
std::string fixed(double v, const char* format = "%.2f");

}  // namespace antiphase::node
