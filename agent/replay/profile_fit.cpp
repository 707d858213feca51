#include "agent/replay/profile_fit.h"

#include <algorithm>
#include <cmath>

#include "common/shape/shape_model.h"

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

template <typename T>
shape::SlotProfile fit_with_shape_model(const T* series, size_t steps, const FoldGrid& grid) {
  shape::ShapeConfig config;
  config.day = {grid.slots, grid.period_s};
  config.k = std::min<uint32_t>(config.k, grid.slots);
  shape::ShapeModel model(config);
  for (size_t i = 0; i < steps; ++i)
    model.add_sample(grid.start_s + static_cast<int64_t>(i) * grid.step_s, static_cast<double>(series[i]),
                     static_cast<double>(grid.step_s));
  shape::SlotProfile p = model.day_profile();
  // Slots the model never saw: fall back to whole-series statistics like fit() does.
  const shape::SlotProfile overall = fit(series, steps, FoldGrid{grid.start_s, grid.step_s, grid.period_s, 1,
                                                                 ProfileSource::Direct});
  std::vector<bool> seen(grid.slots, false);
  for (size_t i = 0; i < steps; ++i) seen[grid.slot_of_step(i)] = true;
  for (uint32_t s = 0; s < grid.slots; ++s)
    if (!seen[s]) {
      p.mean[s] = overall.mean[0];
      p.spread[s] = overall.spread[0];
      p.peak[s] = overall.peak[0];
    }
  return p;
}

}  // namespace

shape::SlotProfile fit_profile(const float* series, size_t steps, const FoldGrid& grid) {
  return grid.source == ProfileSource::ShapeModel ? fit_with_shape_model(series, steps, grid) : fit(series, steps, grid);
}

shape::SlotProfile fit_profile(const std::vector<double>& series, const FoldGrid& grid) {
  return grid.source == ProfileSource::ShapeModel ? fit_with_shape_model(series.data(), series.size(), grid)
                                                  : fit(series.data(), series.size(), grid);
}

}  // namespace antiphase::replay
