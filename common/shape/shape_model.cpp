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
      hour_(config.hour, std::min(config.hour_k, config.hour.slots), config.half_life_periods),
      recent_(config.highest_window_s),
      window_open_(!config.highest_window_after_relief) {}

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
  note_use(unix_s, cores);
  return true;
}

void ShapeModel::note_use(int64_t unix_s, double cores) {
  highest_ = std::max(highest_, cores);
  if (windowed()) recent_.note(unix_s, cores);
}

bool ShapeModel::seed(const SlotProfile& day, double history_s, uint64_t samples, const ResidualSketch& sketch,
                      int64_t unix_s, double highest, std::optional<int64_t> highest_seen_s) {
  if (samples_ != 0 || !(history_s > 0)) return false;
  const double held = std::min(history_s, config_.half_life_periods * config_.day.period_s);
  if (!day_.seed(day, held / config_.day.slots, unix_s)) return false;
  history_s_ = held;
  samples_ = std::max<uint64_t>(1, samples);
  first_unix_s_ = last_unix_s_ = unix_s;
  sketch_ = sketch;
  if (std::isfinite(highest) && highest > 0 && highest <= kMaxCores)
    note_use(std::min(unix_s, highest_seen_s.value_or(unix_s)), highest);
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
double ShapeModel::highest() const {
  if (!forgets()) return std::max(highest_, peak());
  const RecentHighest::Step* top = recent_.top(last_unix_s_);
  return std::max(top ? top->cores : 0.0, peak());
}

std::optional<int64_t> ShapeModel::highest_seen_s() const {
  if (!forgets()) return std::nullopt;
  const RecentHighest::Step* top = recent_.top(last_unix_s_);
  return top ? top->unix_s : 0;
}

void ShapeModel::raise_highest(double cores, int64_t seen_s) {
  if (std::isfinite(cores) && cores >= 0 && cores <= kMaxCores) note_use(seen_s, cores);
}

void ShapeModel::raise_highest(const ShapeModel& other) {
  highest_ = std::max(highest_, other.highest_);
  if (!windowed()) return;
  if (!other.windowed()) {
    recent_.note(other.last_unix_s_, other.highest());
    return;
  }
  for (const RecentHighest::Step& s : other.recent_.steps()) recent_.note(s.unix_s, s.cores);
}

size_t ShapeModel::memory_bytes() const {
  return sizeof(*this) + day_.heap_bytes() + hour_.heap_bytes() + recent_.heap_bytes();
}

ShapeModel::Raw ShapeModel::raw() const {
  return Raw{samples_,     history_s_, first_unix_s_, last_unix_s_, day_.raw(), hour_.raw(),
             sketch_.raw(), highest_,   recent_.steps()};
}

bool ShapeModel::restore(const Raw& raw) {
  if (!std::isfinite(raw.history_s) || raw.history_s < 0) return false;
  if (!std::isfinite(raw.highest) || raw.highest < 0 || raw.highest > kMaxCores) return false;
  if (raw.samples > 0 && raw.first_unix_s > raw.last_unix_s) return false;
  FoldedProfile day = day_, hour = hour_;
  ResidualSketch sketch;
  if (!day.restore(raw.day) || !hour.restore(raw.hour) || !sketch.restore(raw.sketch)) return false;
  RecentHighest recent(config_.highest_window_s);
  if (!recent.restore(raw.highest_steps, kMaxCores)) return false;
  if (!windowed()) recent = RecentHighest();  // kept for good now: the steps are moot
  // A file written while highest uses were kept for good: its highest counts as seen last.
  if (raw.highest_steps.empty() && raw.highest > 0 && windowed()) recent.note(raw.last_unix_s, raw.highest);
  sketch_ = sketch;
  day_ = std::move(day);
  hour_ = std::move(hour);
  samples_ = raw.samples;
  history_s_ = raw.history_s;
  highest_ = raw.highest;
  recent_ = std::move(recent);
  first_unix_s_ = raw.first_unix_s;
  last_unix_s_ = raw.last_unix_s;
  return true;
}

}  // namespace antiphase::shape
