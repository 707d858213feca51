#include "common/shape/folded_profile.h"

#include <algorithm>
#include <cmath>

#include "common/shape/dct_basis.h"

namespace antiphase::shape {
namespace {

// Decay without touching every slot each period: instead of shrinking old weights
// by lambda per period, new samples are weighted by growth(p) = lambda^-(p - base).
// Means, variances and peaks are ratios/maxima of inflated quantities, so they read
// the same; when growth gets large all slots are rescaled once (renormalise()).
constexpr double kMaxGrowth = 1048576.0;  // 2^20: far from float overflow
// Incremental coefficient updates accumulate rounding; a full recomputation every
// this many samples (O(slots*k), amortised O(k)) keeps the correlation bound honest.
constexpr uint32_t kRefreshEvery = 1024;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

FoldedProfile::FoldedProfile(FoldSpec spec, uint32_t k, double half_life_periods)
    : spec_(spec),
      decay_per_period_(std::pow(0.5, 1.0 / half_life_periods)),
      basis_(&dct_basis(spec.slots, k)),
      slots_(spec.slots),
      mean_coef_(Eigen::VectorXd::Zero(k)),
      spread_coef_(Eigen::VectorXd::Zero(k)) {}

double FoldedProfile::growth(int64_t period) const {
  return std::pow(decay_per_period_, -static_cast<double>(period - base_period_));
}

double FoldedProfile::spread_of(const Slot& slot) {
  if (!(slot.weight > 0)) return 0;
  return std::sqrt(std::max(0.0, static_cast<double>(slot.m2) / slot.weight));
}

void FoldedProfile::advance_to(int64_t period) {
  if (!seen_any_) {
    seen_any_ = true;
    base_period_ = latest_period_ = period;
    growth_now_ = 1.0;
    return;
  }
  if (period <= latest_period_) return;
  latest_period_ = period;
  if (growth(latest_period_) > kMaxGrowth) renormalise();
  growth_now_ = growth(latest_period_);
  recompute_coefficients();  // once per period: cheap, and bounds rounding drift
}

void FoldedProfile::renormalise() {
  // After a very long gap the factor underflows to 0: everything old is forgotten,
  // which is what the decay means.
  const double factor = 1.0 / growth(latest_period_);
  for (Slot& slot : slots_) {
    slot.weight = static_cast<float>(slot.weight * factor);
    slot.m2 = static_cast<float>(slot.m2 * factor);
    slot.peak = static_cast<float>(slot.peak * factor);
  }
  base_period_ = latest_period_;
}

void FoldedProfile::recompute_coefficients() {
  const DctBasis& basis = (*basis_);
  Eigen::VectorXd mean(spec_.slots), spread(spec_.slots);
  for (uint32_t b = 0; b < spec_.slots; ++b) {
    mean[b] = slots_[b].mean;
    spread[b] = spread_of(slots_[b]);
  }
  mean_coef_ = basis.transpose() * mean;
  spread_coef_ = basis.transpose() * spread;
  mean_energy_ = mean.squaredNorm();
  spread_energy_ = spread.squaredNorm();
  updates_since_refresh_ = 0;
}

uint32_t FoldedProfile::slot_index_of(int64_t unix_s) const {
  const int64_t period_s = spec_.period_s;
  const int64_t period = floor_div(unix_s, period_s);
  return static_cast<uint32_t>((unix_s - period * period_s) / (period_s / spec_.slots));
}

FoldedProfile::SlotStats FoldedProfile::slot_at(int64_t unix_s) const {
  const Slot& slot = slots_[slot_index_of(unix_s)];
  return {slot.mean, spread_of(slot), slot.weight > 0};
}

void FoldedProfile::add(int64_t unix_s, double cores, double weight_s) {
  const int64_t period = floor_div(unix_s, spec_.period_s);
  const uint32_t slot_index = slot_index_of(unix_s);
  // A step back in wall-clock time is folded into the newest period, so the decay
  // bookkeeping only ever moves forward.
  advance_to(seen_any_ ? std::max(period, latest_period_) : period);
  Slot& slot = slots_[slot_index];
  const double old_mean = slot.mean, old_spread = spread_of(slot);
  update_slot(slot, cores, weight_s);
  update_coefficients(slot_index, old_mean, old_spread);
}

bool FoldedProfile::seed(const SlotProfile& p, double weight_s, int64_t unix_s) {
  if (seen_any_ || p.period_s != spec_.period_s || p.slots() != spec_.slots || p.spread.size() != spec_.slots ||
      p.peak.size() != spec_.slots || !(weight_s > 0) || !std::isfinite(weight_s))
    return false;
  for (uint32_t b = 0; b < spec_.slots; ++b)
    if (!std::isfinite(p.mean[b]) || !std::isfinite(p.spread[b]) || !std::isfinite(p.peak[b]) || p.mean[b] < 0 ||
        p.spread[b] < 0 || p.peak[b] < 0)
      return false;
  advance_to(floor_div(unix_s, spec_.period_s));
  for (uint32_t b = 0; b < spec_.slots; ++b) {
    Slot& slot = slots_[b];
    slot.mean = static_cast<float>(p.mean[b]);
    slot.m2 = static_cast<float>(p.spread[b] * p.spread[b] * weight_s);
    slot.weight = static_cast<float>(weight_s);
    slot.peak = static_cast<float>(std::max(p.peak[b], p.mean[b]));
  }
  recompute_coefficients();
  return true;
}

// Weighted incremental mean/variance (West 1979) in inflated weights.
void FoldedProfile::update_slot(Slot& slot, double cores, double weight_s) {
  const double weight = weight_s * growth_now_;
  const double total = static_cast<double>(slot.weight) + weight;
  const double old_mean = slot.mean;
  const double delta = cores - old_mean;
  const double new_mean = old_mean + delta * (weight / total);
  slot.mean = static_cast<float>(new_mean);
  slot.m2 = static_cast<float>(slot.m2 + weight * delta * (cores - new_mean));
  slot.weight = static_cast<float>(total);
  slot.peak = std::max(slot.peak, static_cast<float>(cores * growth_now_));
}

// The coefficients describe exactly the stored (float) values: deltas are taken
// between stored values, so profile() and embedding() stay consistent.
void FoldedProfile::update_coefficients(uint32_t slot_index, double old_mean, double old_spread) {
  const Slot& slot = slots_[slot_index];
  const double new_mean = slot.mean, new_spread = spread_of(slot);
  const auto row = basis_->row(slot_index).transpose();
  mean_coef_.noalias() += (new_mean - old_mean) * row;
  spread_coef_.noalias() += (new_spread - old_spread) * row;
  mean_energy_ += new_mean * new_mean - old_mean * old_mean;
  spread_energy_ += new_spread * new_spread - old_spread * old_spread;
  if (++updates_since_refresh_ >= kRefreshEvery) recompute_coefficients();
}

SlotProfile FoldedProfile::profile() const {
  SlotProfile out;
  out.period_s = spec_.period_s;
  out.mean.resize(spec_.slots);
  out.spread.resize(spec_.slots);
  out.peak.resize(spec_.slots);
  const double shrink = 1.0 / growth_now_;
  for (uint32_t b = 0; b < spec_.slots; ++b) {
    out.mean[b] = slots_[b].mean;
    out.spread[b] = spread_of(slots_[b]);
    out.peak[b] = slots_[b].peak * shrink;
  }
  return out;
}

FoldEmbedding FoldedProfile::embedding() const {
  FoldEmbedding out;
  out.slots = spec_.slots;
  out.period_s = spec_.period_s;
  out.mean_coef = mean_coef_;
  out.spread_coef = spread_coef_;
  out.mean_energy = std::max(0.0, mean_energy_);
  out.spread_energy = std::max(0.0, spread_energy_);
  return out;
}

double FoldedProfile::observed_mean() const {
  double sum = 0;
  uint32_t observed = 0;
  for (const Slot& slot : slots_) {
    if (slot.weight > 0) {
      sum += slot.mean;
      ++observed;
    }
  }
  return observed ? sum / observed : 0.0;
}

double FoldedProfile::max_peak() const {
  float largest = 0;
  for (const Slot& slot : slots_) largest = std::max(largest, slot.peak);
  return largest / growth_now_;
}

std::vector<bool> FoldedProfile::observed() const {
  std::vector<bool> out(slots_.size());
  for (size_t b = 0; b < slots_.size(); ++b) out[b] = slots_[b].weight > 0;
  return out;
}

size_t FoldedProfile::heap_bytes() const {
  return slots_.capacity() * sizeof(Slot) +
         static_cast<size_t>(mean_coef_.size() + spread_coef_.size()) * sizeof(double);
}

FoldedProfile::Raw FoldedProfile::raw() const {
  Raw out;
  out.base_period = base_period_;
  out.latest_period = latest_period_;
  out.seen_any = seen_any_;
  for (const Slot& slot : slots_) {
    out.mean.push_back(slot.mean);
    out.m2.push_back(slot.m2);
    out.peak.push_back(slot.peak);
    out.weight.push_back(slot.weight);
  }
  return out;
}

bool FoldedProfile::restore(const Raw& raw) {
  const size_t n = spec_.slots;
  if (raw.mean.size() != n || raw.m2.size() != n || raw.peak.size() != n || raw.weight.size() != n)
    return false;
  if (raw.latest_period < raw.base_period) return false;
  for (size_t b = 0; b < n; ++b) {
    if (!std::isfinite(raw.mean[b]) || !std::isfinite(raw.m2[b]) || !std::isfinite(raw.peak[b]) ||
        !std::isfinite(raw.weight[b]) || raw.m2[b] < 0 || raw.peak[b] < 0 || raw.weight[b] < 0)
      return false;
  }
  FoldedProfile candidate = *this;
  candidate.base_period_ = raw.base_period;
  candidate.latest_period_ = raw.latest_period;
  candidate.seen_any_ = raw.seen_any;
  candidate.growth_now_ = candidate.growth(raw.latest_period);
  if (!(candidate.growth_now_ <= kMaxGrowth * 2)) return false;
  for (size_t b = 0; b < n; ++b)
    candidate.slots_[b] = Slot{raw.mean[b], raw.m2[b], raw.peak[b], raw.weight[b]};
  candidate.recompute_coefficients();
  *this = std::move(candidate);
  return true;
}

}  // namespace antiphase::shape
