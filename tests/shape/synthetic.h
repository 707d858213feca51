#pragma once
// Synthetic usage series for the shape tests: each is a function of UTC time.
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <random>

#include "common/shape/shape_model.h"

namespace antiphase::shape::testing {

using Series = std::function<double(int64_t unix_s)>;

inline constexpr int64_t kDay = 86400;
inline constexpr int64_t kStart = 1700006400;  // 2023-11-15 00:00:00 UTC, a day boundary

// Feeds `days` days of the series at `step_s` spacing, each sample weighing step_s.
inline void feed(ShapeModel& model, const Series& series, double days, int64_t step_s = 300,
                 int64_t start = kStart) {
  const int64_t end = start + static_cast<int64_t>(days * kDay);
  for (int64_t t = start; t < end; t += step_s) model.add_sample(t, series(t), static_cast<double>(step_s));
}

inline Series diurnal(double phase_hours, double level = 2.0, double amplitude = 1.0) {
  return [=](int64_t t) {
    const double hours = static_cast<double>(t % kDay) / 3600.0;
    return level + amplitude * std::sin(2 * std::numbers::pi * (hours - phase_hours) / 24.0);
  };
}

// High for `width_min` minutes starting at minute `minute` of every hour.
inline Series hourly_spike(int minute, int width_min = 5, double base = 0.2, double high = 3.0) {
  return [=](int64_t t) {
    const int64_t m = (t % 3600) / 60;
    return (m >= minute && m < minute + width_min) ? high : base;
  };
}

inline Series flat(double level) {
  return [=](int64_t) { return level; };
}

// A random shape that repeats daily: random-walk profile over 288 five-minute steps,
// deterministic per seed.
inline Series daily_random_walk(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> step(0.0, 0.15);
  auto values = std::make_shared<std::vector<double>>(288);
  double level = 1.0;
  for (double& v : *values) {
    level = std::max(0.0, level + step(rng));
    v = level;
  }
  return [values](int64_t t) { return (*values)[(t % kDay) / 300]; };
}

}  // namespace antiphase::shape::testing
