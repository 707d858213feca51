#include "agent/replay/profile_fit.h"

#include <algorithm>
#include <cmath>

namespace antiphase::replay {
namespace {

template <typename T>
shape::SlotProfile fit(const T* series, size_t steps, const FoldGrid& grid) {
  std::vector<double> sum(grid.slots, 0.0), sumsq(grid.slots, 0.0), peak(grid.slots, 0.0);
  std::vector<size_t> count(grid.slots, 0);
  double all_sum = 0, all_sumsq = 0, all_peak = 0;
  for (size_t i = 0; i < steps; ++i) {
    const double v = series[i];
    const uint32_t s = grid.slot_of_step(i);
    sum[s] += v;
    sumsq[s] += v * v;
    peak[s] = std::max(peak[s], v);
    ++count[s];
    all_sum += v;
    all_sumsq += v * v;
    all_peak = std::max(all_peak, v);
  }
  auto stddev = [](double s, double ss, double n) { return n > 1 ? std::sqrt(std::max(0.0, ss / n - (s / n) * (s / n))) : 0.0; };
  shape::SlotProfile p;
  p.period_s = grid.period_s;
  p.mean.resize(grid.slots);
  p.spread.resize(grid.slots);
  p.peak.resize(grid.slots);
  const double n_all = static_cast<double>(steps);
  for (uint32_t s = 0; s < grid.slots; ++s) {
    if (count[s] == 0) {  // no data for this time of day: fall back to the whole series
      p.mean[s] = steps ? all_sum / n_all : 0.0;
      p.spread[s] = stddev(all_sum, all_sumsq, n_all);
      p.peak[s] = all_peak;
      continue;
    }
    const double n = static_cast<double>(count[s]);
    p.mean[s] = sum[s] / n;
    p.spread[s] = stddev(sum[s], sumsq[s], n);
    p.peak[s] = peak[s];
  }
  return p;
}

}  // namespace

shape::SlotProfile fit_profile(const float* series, size_t steps, const FoldGrid& grid) {
  return fit(series, steps, grid);
}

shape::SlotProfile fit_profile(const std::vector<double>& series, const FoldGrid& grid) {
  return fit(series.data(), series.size(), grid);
}

}  // namespace antiphase::replay
