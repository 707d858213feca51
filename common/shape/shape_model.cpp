#include "common/shape/shape_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace antiphase::shape {
namespace {

// Sanity caps: anything beyond is a unit error upstream, and would overflow the
// float accumulators.
constexpr double kMaxCores = 1e6;
constexpr double kMaxWeightSeconds = 1e7;

const ShapeConfig& checked(const ShapeConfig& config) {
  if (auto error = validate(config)) throw std::invalid_argument("shape config: " + *error);
  return config;
}

}  // namespace

ShapeModel::ShapeModel(const ShapeConfig& config)
    : config_(checked(config)),
      day_(config.day, std::min(config.k, config.day.slots), config.half_life_periods),
      hour_(config.hour, std::min(config.hour_k, config.hour.slots), config.half_life_periods) {}

bool ShapeModel::add_sample(int64_t unix_s, double cores, double weight_s) {
  if (!std::isfinite(cores) || cores < 0 || cores > kMaxCores) return false;
  if (!std::isfinite(weight_s) || weight_s <= 0 || weight_s > kMaxWeightSeconds) return false;
  if (const double r = residual(unix_s, cores); std::isfinite(r)) sketch_.add(unix_s, r, weight_s);
  day_.add(unix_s, cores, weight_s);
  hour_.add(unix_s, cores, weight_s);
  if (samples_ == 0) first_unix_s_ = last_unix_s_ = unix_s;
  first_unix_s_ = std::min(first_unix_s_, unix_s);
  last_unix_s_ = std::max(last_unix_s_, unix_s);
  ++samples_;
  history_s_ += weight_s;
  highest_ = std::max(highest_, cores);
  return true;
}

bool ShapeModel::seed(const SlotProfile& day, double history_s, uint64_t samples, const ResidualSketch& sketch,
                      int64_t unix_s, double highest) {
  if (samples_ != 0 || !(history_s > 0)) return false;
  const double held = std::min(history_s, config_.half_life_periods * config_.day.period_s);
  if (!day_.seed(day, held / config_.day.slots, unix_s)) return false;
  history_s_ = held;
  samples_ = std::max<uint64_t>(1, samples);
  first_unix_s_ = last_unix_s_ = unix_s;
  sketch_ = sketch;
  highest_ = std::isfinite(highest) && highest > 0 && highest <= kMaxCores ? highest : 0.0;
  return true;
}

double ShapeModel::residual(int64_t unix_s, double cores) const {
  const auto slot = day_.slot_at(unix_s);
  if (confidence() < 1.0 || !slot.observed) return std::numeric_limits<double>::quiet_NaN();
  return cores - slot.mean;
}

double ShapeModel::confidence() const {
  return std::clamp(history_s_ / config_.full_confidence_s, 0.0, 1.0);
}

double ShapeModel::mean() const { return day_.observed_mean(); }
double ShapeModel::peak() const { return day_.max_peak(); }
double ShapeModel::highest() const { return std::max(highest_, peak()); }

void ShapeModel::raise_highest(double cores) {
  if (std::isfinite(cores) && cores <= kMaxCores) highest_ = std::max(highest_, cores);
}

size_t ShapeModel::memory_bytes() const {
  return sizeof(*this) + day_.heap_bytes() + hour_.heap_bytes();
}

ShapeModel::Raw ShapeModel::raw() const {
  return Raw{samples_, history_s_, first_unix_s_, last_unix_s_, day_.raw(), hour_.raw(), sketch_.raw(), highest_};
}

bool ShapeModel::restore(const Raw& raw) {
  if (!std::isfinite(raw.history_s) || raw.history_s < 0) return false;
  if (!std::isfinite(raw.highest) || raw.highest < 0 || raw.highest > kMaxCores) return false;
  if (raw.samples > 0 && raw.first_unix_s > raw.last_unix_s) return false;
  FoldedProfile day = day_, hour = hour_;
  ResidualSketch sketch;
  if (!day.restore(raw.day) || !hour.restore(raw.hour) || !sketch.restore(raw.sketch)) return false;
  sketch_ = sketch;
  day_ = std::move(day);
  hour_ = std::move(hour);
  samples_ = raw.samples;
  history_s_ = raw.history_s;
  highest_ = raw.highest;
  first_unix_s_ = raw.first_unix_s;
  last_unix_s_ = raw.last_unix_s;
  return true;
}

}  // namespace antiphase::shape
