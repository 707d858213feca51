#include "agent/trace/series_matrix.h"

#include <algorithm>
#include <stdexcept>

namespace antiphase::replay {

// The timestamps of whole series are sorted before their gaps are taken, so the rows may
// come in any order (by time, grouped by function, shuffled). Bounded: the series read are
// the first ones, in the order the file names them, up to kStepSampleRows samples (the
// first series whole, however long).
int64_t detect_step(const Trace& trace, int64_t before) {
  constexpr size_t kStepSampleRows = size_t{1} << 22;
  std::vector<size_t> rows_of(trace.functions.size(), 0);
  for (const TraceRow& r : trace.rows)
    if (r.timestamp < before) ++rows_of[r.function];
  size_t sampled = 0, functions = 0;
  while (functions < rows_of.size() && (functions == 0 || sampled + rows_of[functions] <= kStepSampleRows))
    sampled += rows_of[functions++];
  std::vector<std::vector<int64_t>> times(functions);
  for (const TraceRow& r : trace.rows)
    if (r.timestamp < before && r.function < functions) times[r.function].push_back(r.timestamp);
  std::vector<int64_t> gaps;
  for (std::vector<int64_t>& t : times) {
    std::sort(t.begin(), t.end());
    for (size_t i = 1; i < t.size(); ++i)
      if (t[i] > t[i - 1]) gaps.push_back(t[i] - t[i - 1]);
  }
  if (gaps.empty()) return 0;
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  return gaps[gaps.size() / 2];
}

SeriesMatrix align(const Trace& trace, Window window, int64_t step_s) {
  if (step_s <= 0) throw std::invalid_argument("step must be positive");
  if (window.end <= window.start) throw std::invalid_argument("empty window");
  SeriesMatrix m;
  m.window = window;
  m.step_s = step_s;
  m.steps = static_cast<size_t>((window.end - window.start + step_s - 1) / step_s);
  const size_t n = trace.functions.size();
  std::vector<std::vector<float>> sum(n);
  std::vector<std::vector<uint16_t>> count(n);
  for (const TraceRow& r : trace.rows) {
    if (r.timestamp < window.start || r.timestamp >= window.end) continue;
    if (sum[r.function].empty()) {
      sum[r.function].assign(m.steps, 0.0f);
      count[r.function].assign(m.steps, 0);
    }
    const size_t i = static_cast<size_t>((r.timestamp - window.start) / step_s);
    sum[r.function][i] += r.cpu;
    if (count[r.function][i] < UINT16_MAX) ++count[r.function][i];
  }
  m.series.resize(n);
  m.coverage.assign(n, 0.0);
  for (size_t f = 0; f < n; ++f) {
    if (sum[f].empty()) continue;
    std::vector<float>& out = m.series[f];
    out.assign(m.steps, 0.0f);
    size_t present = 0;
    float previous = -1.0f;
    for (size_t i = 0; i < m.steps; ++i) {
      if (count[f][i]) {
        out[i] = sum[f][i] / count[f][i];
        if (previous < 0) std::fill(out.begin(), out.begin() + static_cast<long>(i), out[i]);  // leading gap
        previous = out[i];
        ++present;
      } else if (previous >= 0) {
        out[i] = previous;
      }
    }
    m.coverage[f] = static_cast<double>(present) / static_cast<double>(m.steps);
  }
  return m;
}

}  // namespace antiphase::replay
