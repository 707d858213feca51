#include "common/shape/resample.h"

#include <algorithm>
#include <cmath>

namespace antiphase::shape {
namespace {

struct Pool {
  double weight = 0, mean_sum = 0, square_sum = 0, peak = 0;
  void add(double w, double mean, double spread, double peak_value) {
    weight += w;
    mean_sum += w * mean;
    square_sum += w * (spread * spread + mean * mean);
    peak = std::max(peak, peak_value);
  }
  double mean() const { return mean_sum / weight; }
  double spread() const { return std::sqrt(std::max(0.0, square_sum / weight - mean() * mean())); }
};

}  // namespace

SlotProfile resample(const SlotProfile& profile, uint32_t slots) {
  const size_t from = profile.mean.size();
  SlotProfile out;
  out.period_s = profile.period_s;
  if (slots == 0 || from == 0 || profile.spread.size() != from || profile.peak.size() != from) return out;
  out.mean.resize(slots);
  out.spread.resize(slots);
  out.peak.resize(slots);
  // Work in units of 1/(from*slots) of the period so every boundary is an integer.
  for (uint32_t w = 0; w < slots; ++w) {
    const uint64_t begin = uint64_t{w} * from, end = begin + from;
    Pool pool;
    for (size_t s = begin / slots; s < from && uint64_t{s} * slots < end; ++s) {
      const uint64_t s_begin = uint64_t{s} * slots, s_end = s_begin + slots;
      const double overlap = static_cast<double>(std::min(end, s_end) - std::max(begin, s_begin));
      if (overlap > 0) pool.add(overlap, profile.mean[s], profile.spread[s], profile.peak[s]);
    }
    out.mean[w] = pool.mean();
    out.spread[w] = pool.spread();
    out.peak[w] = pool.peak;
  }
  return out;
}

}  // namespace antiphase::shape
