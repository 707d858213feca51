#include "common/shape/residual_sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace antiphase::shape {
namespace {

int64_t hour_of(int64_t unix_s) {
  const int64_t h = unix_s / 3600;
  return (unix_s % 3600 != 0 && unix_s < 0) ? h - 1 : h;
}

size_t index_of(int64_t hour) {
  const int64_t n = kSketchHours;
  return static_cast<size_t>(((hour % n) + n) % n);
}

}  // namespace

void ResidualSketch::advance_to(int64_t hour) {
  if (newest_hour_ < 0 || hour - newest_hour_ >= static_cast<int64_t>(kSketchHours)) {
    sum_.fill(0.0f);
    weight_.fill(0.0f);
  } else {
    for (int64_t h = newest_hour_ + 1; h <= hour; ++h) {
      sum_[index_of(h)] = 0.0f;
      weight_[index_of(h)] = 0.0f;
    }
  }
  newest_hour_ = hour;
}

void ResidualSketch::add(int64_t unix_s, double residual, double weight_s) {
  if (!std::isfinite(residual) || !(weight_s > 0) || !std::isfinite(weight_s)) return;
  // The sample covers the weight_s seconds *ending* at unix_s: it belongs to the hour
  // it started in when it straddles an hour boundary only by the tail.
  const int64_t hour = hour_of(unix_s - 1);
  if (hour > newest_hour_) advance_to(hour);
  // Samples older than the ring (a wall clock stepping back) are dropped.
  if (hour <= newest_hour_ - static_cast<int64_t>(kSketchHours)) return;
  sum_[index_of(hour)] += static_cast<float>(residual * weight_s);
  weight_[index_of(hour)] += static_cast<float>(weight_s);
}

double ResidualSketch::hour_mean(int64_t hour) const {
  if (newest_hour_ < 0 || hour > newest_hour_ || hour <= newest_hour_ - static_cast<int64_t>(kSketchHours))
    return std::numeric_limits<double>::quiet_NaN();
  const size_t i = index_of(hour);
  return weight_[i] > 0 ? static_cast<double>(sum_[i]) / weight_[i] : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> ResidualSketch::complete_hours(int64_t* first_hour) const {
  std::vector<double> out;
  const int64_t first = newest_hour_ - static_cast<int64_t>(kSketchHours) + 1;
  if (first_hour) *first_hour = first;
  if (newest_hour_ < 0) return out;
  for (int64_t h = first; h < newest_hour_; ++h) out.push_back(hour_mean(h));
  return out;
}

double ResidualSketch::recent_shift(uint32_t hours) const {
  if (newest_hour_ < 0 || hours == 0) return 0.0;
  double sum = 0;
  for (uint32_t i = 1; i <= hours; ++i) {
    const double h = hour_mean(newest_hour_ - static_cast<int64_t>(i));
    if (!std::isfinite(h)) return 0.0;
    sum += h;
  }
  return std::max(0.0, sum / hours);
}

SketchCorrelation ResidualSketch::correlate(const ResidualSketch& a, const ResidualSketch& b) {
  SketchCorrelation out;
  if (a.newest_hour_ < 0 || b.newest_hour_ < 0) return out;
  // Complete hours of both: the newest hour of each is still filling.
  const int64_t last = std::min(a.newest_hour_, b.newest_hour_) - 1;
  const int64_t first = std::max(a.newest_hour_, b.newest_hour_) - static_cast<int64_t>(kSketchHours) + 1;
  double n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (int64_t h = first; h <= last; ++h) {
    const double x = a.hour_mean(h), y = b.hour_mean(h);
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    n += 1;
    sa += x;
    sb += y;
    saa += x * x;
    sbb += y * y;
    sab += x * y;
  }
  out.hours = static_cast<uint32_t>(n);
  if (n < 3) return out;
  const double cov = sab - sa * sb / n, va = saa - sa * sa / n, vb = sbb - sb * sb / n;
  if (!(va > 0) || !(vb > 0)) return out;
  out.rho = std::clamp(cov / std::sqrt(va * vb), -1.0, 1.0);
  return out;
}

ResidualSketch::Raw ResidualSketch::raw() const {
  Raw r;
  r.newest_hour = newest_hour_;
  r.sum.assign(sum_.begin(), sum_.end());
  r.weight.assign(weight_.begin(), weight_.end());
  return r;
}

bool ResidualSketch::restore(const Raw& raw) {
  if (raw.newest_hour < 0) {
    *this = ResidualSketch{};
    return raw.sum.empty() && raw.weight.empty();
  }
  if (raw.sum.size() != kSketchHours || raw.weight.size() != kSketchHours) return false;
  for (size_t i = 0; i < kSketchHours; ++i)
    if (!std::isfinite(raw.sum[i]) || !std::isfinite(raw.weight[i]) || raw.weight[i] < 0) return false;
  newest_hour_ = raw.newest_hour;
  for (size_t i = 0; i < kSketchHours; ++i) {
    sum_[i] = raw.sum[i];
    weight_[i] = raw.weight[i];
  }
  return true;
}

ResidualSketch ResidualSketch::from_hour_means(int64_t first_hour, const std::vector<double>& means) {
  ResidualSketch s;
  if (means.empty() || first_hour < 0) return s;
  // One more (empty) hour after the last, so every given hour counts as complete.
  s.advance_to(first_hour + static_cast<int64_t>(means.size()));
  for (size_t i = 0; i < means.size() && i + 1 < kSketchHours; ++i) {
    const int64_t h = first_hour + static_cast<int64_t>(i);
    if (!std::isfinite(means[i]) || h <= s.newest_hour_ - static_cast<int64_t>(kSketchHours)) continue;
    s.sum_[index_of(h)] = static_cast<float>(means[i]);
    s.weight_[index_of(h)] = 1.0f;
  }
  return s;
}

SketchCodes quantise(const ResidualSketch& sketch) {
  SketchCodes out;
  const std::vector<double> hours = sketch.complete_hours(&out.first_hour);
  double largest = 0;
  bool any = false;
  for (double h : hours)
    if (std::isfinite(h)) {
      largest = std::max(largest, std::abs(h));
      any = true;
    }
  if (!any) return {};
  out.step = static_cast<float>(largest / kSketchLevels);
  for (double h : hours) {
    if (!std::isfinite(h)) {
      out.codes.push_back(kSketchMissing);
      continue;
    }
    const long code = out.step > 0 ? std::lround(h / out.step) : 0;
    out.codes.push_back(static_cast<int8_t>(std::clamp(code, -long{kSketchLevels}, long{kSketchLevels})));
  }
  return out;
}

ResidualSketch dequantise(const SketchCodes& codes) {
  std::vector<double> means;
  for (int8_t code : codes.codes)
    means.push_back(code == kSketchMissing ? std::numeric_limits<double>::quiet_NaN()
                                           : code * static_cast<double>(codes.step));
  return ResidualSketch::from_hour_means(codes.first_hour, means);
}

std::string pack_sketch(const SketchCodes& codes) {
  std::string out((codes.codes.size() + 1) / 2, '\0');
  for (size_t i = 0; i < codes.codes.size(); ++i)
    out[i / 2] = static_cast<char>(out[i / 2] | ((codes.codes[i] & 0x0f) << (4 * (i % 2))));
  return out;
}

std::optional<SketchCodes> unpack_sketch(int64_t first_hour, float step, std::string_view packed) {
  if (packed.empty()) return SketchCodes{};
  if (packed.size() > kSketchHours / 2 || first_hour < 0 || !std::isfinite(step) || step < 0) return std::nullopt;
  SketchCodes out{first_hour, step, {}};
  // An odd count leaves the last nibble unused; kSketchHours - 1 codes at most.
  for (size_t i = 0; i < packed.size() * 2 && i + 1 < kSketchHours; ++i) {
    const int nibble = (static_cast<uint8_t>(packed[i / 2]) >> (4 * (i % 2))) & 0x0f;
    out.codes.push_back(static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble));
  }
  return out;
}

}  // namespace antiphase::shape
