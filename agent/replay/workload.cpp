#include "agent/replay/workload.h"

#include <algorithm>

namespace antiphase::replay {

std::vector<uint32_t> covered_in_both(const SeriesMatrix& a, const SeriesMatrix& b, double min_coverage) {
  std::vector<uint32_t> out;
  const size_t n = std::min(a.coverage.size(), b.coverage.size());
  for (size_t f = 0; f < n; ++f)
    if (!a.series[f].empty() && !b.series[f].empty() && a.coverage[f] >= min_coverage && b.coverage[f] >= min_coverage)
      out.push_back(static_cast<uint32_t>(f));
  return out;
}

Workload make_workload(const Trace& trace, const SeriesMatrix& fit, const SeriesMatrix& eval,
                       const std::vector<uint32_t>& functions, uint32_t slots_per_day, ProfileSource source) {
  Workload w;
  w.fit_grid = {fit.window.start, fit.step_s, 86400, slots_per_day, source};
  w.eval_grid = {eval.window.start, eval.step_s, 86400, slots_per_day, source};
  // Name order, so the seeded placement order does not depend on how much of the
  // trace was read (function indices follow first appearance in the file).
  std::vector<uint32_t> by_name(functions);
  std::sort(by_name.begin(), by_name.end(),
            [&](uint32_t a, uint32_t b) { return trace.functions[a] < trace.functions[b]; });
  for (uint32_t f : by_name) {
    w.names.push_back(trace.functions[f]);
    w.fit.push_back(fit.series[f]);
    w.eval.push_back(eval.series[f]);
  }
  return w;
}

}  // namespace antiphase::replay
