#pragma once
// One wall-clock fold of a usage series (e.g. the 96 quarter-hours of a UTC day):
// per slot an exponentially weighted mean, variance and decayed peak of per-tick
// usage, and the first k DCT-II coefficients of the mean and spread profiles kept
// up to date in O(k) per sample.
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "common/shape/dct_basis.h"
#include "common/shape/embedding.h"
#include "common/shape/shape_config.h"
#include "common/shape/slot_profile.h"

namespace antiphase::shape {

class FoldedProfile {
 public:
  FoldedProfile(FoldSpec spec, uint32_t k, double half_life_periods);

  void add(int64_t unix_s, double cores, double weight_s);

  // The slot that holds unix_s, as profile() would report it (no allocation: the
  // tick loop asks this for every tenant).
  struct SlotStats {
    double mean = 0, spread = 0;
    bool observed = false;
  };
  SlotStats slot_at(int64_t unix_s) const;

  SlotProfile profile() const;
  FoldEmbedding embedding() const;
  const FoldSpec& spec() const { return spec_; }
  double observed_mean() const;  // average slot mean over slots that have data
  double max_peak() const;       // largest decayed per-slot peak
  std::vector<bool> observed() const;  // per slot: has data (unobserved slots read as 0)
  size_t heap_bytes() const;

  // Raw state, for the state file. Weights, M2 and peaks are stored "inflated" by
  // growth(period) (see the .cc); restore() validates and rebuilds the coefficients.
  struct Raw {
    int64_t base_period = 0;    // period whose growth factor is 1
    int64_t latest_period = 0;  // newest period seen
    bool seen_any = false;
    std::vector<float> mean, m2, peak, weight;
  };
  Raw raw() const;
  // False (and untouched state) when sizes or values are inconsistent.
  bool restore(const Raw& raw);

 private:
  struct Slot {
    float mean = 0;    // weighted mean of per-tick usage
    float m2 = 0;      // weighted sum of squared deviations (inflated)
    float peak = 0;    // decayed peak (inflated)
    float weight = 0;  // sum of sample weights (inflated)
  };

  double growth(int64_t period) const;
  uint32_t slot_index_of(int64_t unix_s) const;
  void advance_to(int64_t period);
  void renormalise();
  void recompute_coefficients();
  static double spread_of(const Slot& slot);
  void update_slot(Slot& slot, double cores, double weight_s);
  void update_coefficients(uint32_t slot_index, double old_mean, double old_spread);

  FoldSpec spec_;
  double decay_per_period_;  // lambda = 0.5^(1/half_life)
  const DctBasis* basis_;    // shared by every fold of the same (slots, k)
  std::vector<Slot> slots_;
  Eigen::VectorXd mean_coef_, spread_coef_;
  double mean_energy_ = 0, spread_energy_ = 0;
  int64_t base_period_ = 0, latest_period_ = 0;
  double growth_now_ = 1.0;  // growth(latest_period_), cached: pow() is the costliest step
  bool seen_any_ = false;
  uint32_t updates_since_refresh_ = 0;
};

}  // namespace antiphase::shape
