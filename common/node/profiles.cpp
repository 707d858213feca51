#include "common/node/profiles.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/shape/resample.h"

namespace antiphase::node {

std::string fixed(double v, const char* format) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

shape::SlotProfile per_instance(shape::SlotProfile p, uint32_t instances) {
  if (instances <= 1) return p;
  const double n = instances;
  for (auto* v : {&p.mean, &p.spread, &p.peak})
    for (double& x : *v) x /= n;
  return p;
}

shape::SlotProfile shifted(shape::SlotProfile p, double shift, double highest) {
  if (!(shift > 0)) return p;
  for (size_t w = 0; w < p.slots(); ++w) {
    p.mean[w] += shift;
    if (w < p.peak.size()) p.peak[w] = std::max(p.peak[w], std::min(p.mean[w], highest));
  }
  return p;
}

shape::SlotProfile on_slots_of(const shape::SlotProfile& host, const shape::SlotProfile& candidate) {
  if (host.slots() == 0 || candidate.slots() == host.slots() || candidate.period_s != host.period_s) return candidate;
  shape::SlotProfile r = shape::resample(candidate, static_cast<uint32_t>(host.slots()));
  return r.slots() == host.slots() ? r : candidate;
}

std::string profile_problem(const shape::SlotProfile& p) {
  if (p.period_s != 86400) return "must describe a day (86400 s)";
  if (p.slots() == 0 || 86400 % p.slots() != 0) return "must have a number of slots that divides the day";
  if (p.spread.size() != p.slots()) return "must have as many spread values as mean values";
  for (size_t w = 0; w < p.slots(); ++w)
    if (!(p.mean[w] >= 0) || !(p.spread[w] >= 0) || !std::isfinite(p.mean[w] + p.spread[w]))
      return "values must be finite and non-negative (slot " + std::to_string(w) + ")";
  return {};
}


shape::SlotProfile fill_unobserved(shape::SlotProfile p, const std::vector<bool>& observed, double peak) {
  for (size_t w = 0; w < p.slots() && w < observed.size(); ++w) {
    if (observed[w]) continue;
    p.mean[w] = peak;
    p.peak[w] = peak;
  }
  return p;
}

}  // namespace antiphase::node
