#pragma once
// Terminal pictures of profiles: people would rather look than read.
#include <cstdint>
#include <string>
#include <vector>

namespace antiphase::ctl {

// One block character (▁..█) per value, scaled to `top` (the max of values if 0).
std::string sparkline(const std::vector<double>& values, double top = 0);

// A time axis under a sparkline of `slots` characters covering `period_s` seconds:
// day folds are labelled in hours ("00", "03", ...), hour folds in minutes (":00").
std::string time_axis(size_t slots, unsigned period_s);

// A byte count for a table column, binary units, 3 significant digits: "512M", "1.50G", "980K".
std::string memory_size(uint64_t bytes);

}  // namespace antiphase::ctl
