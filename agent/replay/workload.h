#pragma once
// The functions to place, with their usage over the window the policies learn from
// ("fit") and the window the placement is judged on ("eval"). The oracle alone may
// look at "eval".
#include <string>
#include <vector>

#include "agent/replay/profile_fit.h"

namespace antiphase::replay {

struct Workload {
  std::vector<std::string> names;
  std::vector<std::vector<float>> fit;   // per function, fit_grid-aligned steps
  std::vector<std::vector<float>> eval;  // per function, eval steps
  FoldGrid fit_grid;
  FoldGrid eval_grid;
  size_t size() const { return names.size(); }
  size_t fit_steps() const { return fit.empty() ? 0 : fit[0].size(); }
  size_t eval_steps() const { return eval.empty() ? 0 : eval[0].size(); }
};

}  // namespace antiphase::replay

#include "agent/trace/series_matrix.h"

namespace antiphase::replay {

// Functions (trace indices) with at least `min_coverage` of real samples in both windows.
std::vector<uint32_t> covered_in_both(const SeriesMatrix& a, const SeriesMatrix& b, double min_coverage);

// A workload of the given functions, learning from `fit` and judged on `eval`.
Workload make_workload(const Trace& trace, const SeriesMatrix& fit, const SeriesMatrix& eval,
                       const std::vector<uint32_t>& functions, uint32_t slots_per_day,
                       ProfileSource source = ProfileSource::ShapeModel);

}  // namespace antiphase::replay
