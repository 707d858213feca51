#pragma once
// Percentiles of a set of latency samples (nearest-rank), in microseconds.
#include <cstdint>
#include <string>
#include <vector>

namespace antiphase::bench {

struct LatencySummary {
  size_t count = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Sorts `samples_ns` in place.
LatencySummary summarize(std::vector<uint64_t>& samples_ns);
std::string to_text(const LatencySummary& s);
std::string to_json(const LatencySummary& s);

}  // namespace antiphase::bench
