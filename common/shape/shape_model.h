#pragma once
// The learned usage shape of one function (or of a host's aggregate load): folded
// day and hour profiles plus their DCT embeddings, updated in O(k) per sample.
// Pure: the caller passes the (UTC wall-clock) time of every sample. A plain value
// type: copyable, not internally synchronised.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/shape/embedding.h"
#include "common/shape/folded_profile.h"
#include "common/shape/recent_highest.h"
#include "common/shape/residual_sketch.h"
#include "common/shape/shape_config.h"
#include "common/shape/slot_profile.h"

namespace antiphase::shape {

class ShapeModel {
 public:
  ShapeModel() : ShapeModel(ShapeConfig{}) {}
  // Throws std::invalid_argument (with validate()'s message) for a bad config.
  explicit ShapeModel(const ShapeConfig& config);

  // One observation: `cores` in use during the `weight_s` seconds ending at unix_s.
  // Rejects (returns false, state untouched) non-finite, negative or > 1e6 cores and
  // non-positive, non-finite or > 1e7 s weights. Samples older than the newest period seen are
  // folded as if they were current (wall-clock steps backwards must not corrupt).
  bool add_sample(int64_t unix_s, double cores, double weight_s = 1.0);

  // The day slot holding unix_s as the model knows it *before* a sample there.
  FoldedProfile::SlotStats day_slot_at(int64_t unix_s) const { return day_.slot_at(unix_s); }
  // cores − the day slot's mean, once the model has a full day behind it (before
  // that a slot mean is one period's guess and its residuals say nothing); NaN otherwise.
  double residual(int64_t unix_s, double cores) const;
  // Recent hourly residuals (see residual_sketch.h), fed by add_sample().
  const ResidualSketch& sketch() const { return sketch_; }

  // Starts an empty model from what is known of the function elsewhere (e.g. a gossiped
  // summary): its day profile (on this model's day fold), the history behind it and its
  // recent residuals; then it keeps learning here. False when the model is not empty or
  // the profile does not fit; the history counted is at most half_life_periods days,
  // what an exponentially faded profile can hold.
  // `highest`: the most it was seen to use (0: not known; the day peak stands in), at
  // `highest_seen_s` (default: unix_s, the careful reading when the age is not known).
  bool seed(const SlotProfile& day, double history_s, uint64_t samples, const ResidualSketch& sketch, int64_t unix_s,
            double highest = 0, std::optional<int64_t> highest_seen_s = std::nullopt);

  SlotProfile day_profile() const { return day_.profile(); }
  SlotProfile hour_profile() const { return hour_.profile(); }
  Embedding embedding() const { return {day_.embedding(), hour_.embedding()}; }
  // Which slots have data. Unobserved slots read as 0 in the profiles; callers that
  // must not read that as "idle" (e.g. a host's headroom) can fill them in.
  std::vector<bool> day_observed() const { return day_.observed(); }
  std::vector<bool> hour_observed() const { return hour_.observed(); }

  // 0..1, linear in observed seconds up to config.full_confidence_s (a day by default).
  double confidence() const;
  double history_s() const { return history_s_; }  // sum of accepted sample weights
  uint64_t samples() const { return samples_; }
  double mean() const;  // average of the day profile's means over slots with data
  double peak() const;  // largest decayed peak of the day profile
  // The most cores one sample showed (at least peak()): what peak-sum packing sizes by.
  // By default never decayed: a function idle for weeks keeps the burst it once had.
  // With config.highest_window_s > 0 and the window open (forgets()), only uses
  // within that window before the newest sample count in full (RecentHighest); older
  // ones only as far as peak() holds them.
  double highest() const;
  // When the highest use within the window was seen: 0 when none is left (only peak()
  // stands behind highest()); nullopt when highest uses are kept for good (no window,
  // or one not open yet).
  std::optional<int64_t> highest_seen_s() const;
  // The window applies from now on (config.highest_window_after_relief: the node core
  // opens it once relief was acted upon). Uses seen before count as their age says.
  void open_window() { window_open_ = true; }
  // Whether highest() forgets: a window is set and open.
  bool forgets() const { return windowed() && window_open_; }
  // Raises highest() to a use seen outside this model's own samples, at `seen_s` (e.g.
  // by another host, as its gossiped summary says): the most it used is the most anyone saw.
  void raise_highest(double cores, int64_t seen_s);
  // The same for every use another model of this function remembers (an earlier stay here).
  void raise_highest(const ShapeModel& other);
  int64_t first_unix_s() const { return first_unix_s_; }
  int64_t last_unix_s() const { return last_unix_s_; }

  const ShapeConfig& config() const { return config_; }
  // sizeof(*this) plus owned heap memory.
  size_t memory_bytes() const;

  // State-file access (see state_file.h).
  struct Raw {
    uint64_t samples = 0;
    double history_s = 0;
    int64_t first_unix_s = 0, last_unix_s = 0;
    FoldedProfile::Raw day, hour;
    ResidualSketch::Raw sketch;
    double highest = 0;  // 0 in files written before it existed: peak() stands in
    // RecentHighest's steps (empty when kept for good, and in older files: then
    // `highest` counts as seen at last_unix_s).
    std::vector<RecentHighest::Step> highest_steps;
  };
  Raw raw() const;
  bool restore(const Raw& raw);

 private:
  ShapeConfig config_;
  FoldedProfile day_;
  FoldedProfile hour_;
  ResidualSketch sketch_;
  uint64_t samples_ = 0;
  double history_s_ = 0;
  void note_use(int64_t unix_s, double cores);
  // A window is set: the staircase of uses is recorded, whether the window is open or not.
  bool windowed() const { return config_.highest_window_s > 0; }

  double highest_ = 0;      // for good
  RecentHighest recent_;    // within config.highest_window_s (when > 0)
  bool window_open_ = false;  // see open_window(); not learned state (the node core's)
  int64_t first_unix_s_ = 0, last_unix_s_ = 0;
};

}  // namespace antiphase::shape
