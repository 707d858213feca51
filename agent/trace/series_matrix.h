#pragma once
// Aligns a long-format trace onto a regular time grid: one row of per-step usage per
// function over a window, with the fraction of steps that had a real sample.
#include <cstdint>
#include <vector>

#include "agent/trace/trace_reader.h"

namespace antiphase::replay {

struct Window {
  int64_t start = 0;  // unix seconds, inclusive
  int64_t end = 0;    // exclusive
  int64_t seconds() const { return end - start; }
};

struct SeriesMatrix {
  Window window;
  int64_t step_s = 300;
  size_t steps = 0;
  // Indexed by function (Trace::functions); empty for functions absent from the window.
  std::vector<std::vector<float>> series;
  std::vector<double> coverage;  // fraction of grid steps with at least one sample
  int64_t time_of(size_t step) const { return window.start + static_cast<int64_t>(step) * step_s; }
};

// Typical sampling interval: median gap between consecutive samples (in time, whatever
// the rows' order) of the same series, from samples before `before` only (the replay
// passes the test window's start, so the grid every policy learns on cannot depend on
// the test window or what follows it).
// Returns 0 if there is no series with two such samples.
int64_t detect_step(const Trace& trace, int64_t before = INT64_MAX);

// Several samples in one step are averaged; missing steps repeat the previous sample
// (the first sample for leading gaps) and count against coverage.
SeriesMatrix align(const Trace& trace, Window window, int64_t step_s);

}  // namespace antiphase::replay
