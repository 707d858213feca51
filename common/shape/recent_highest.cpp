#include "common/shape/recent_highest.h"

#include <algorithm>
#include <cmath>

namespace antiphase::shape {

void RecentHighest::note(int64_t unix_s, double cores) {
  // The first step at or after unix_s is the highest from then on: if it is as high,
  // this use adds nothing.
  auto later = std::lower_bound(steps_.begin(), steps_.end(), unix_s,
                                [](const Step& s, int64_t t) { return s.unix_s < t; });
  if (later != steps_.end() && later->cores >= cores) return;
  if (later != steps_.end() && later->unix_s == unix_s) later = steps_.erase(later);  // same time, lower
  // Earlier steps no higher than this use are hidden by it from now on.
  auto hidden = later;
  while (hidden != steps_.begin() && std::prev(hidden)->cores <= cores) --hidden;
  later = steps_.erase(hidden, later);
  steps_.insert(later, Step{unix_s, cores});
  const int64_t newest = steps_.back().unix_s;
  std::erase_if(steps_, [&](const Step& s) { return expired(s, newest); });
  if (steps_.size() > kMaxSteps) merge_closest();
}

void RecentHighest::merge_closest() {
  size_t best = 0;
  for (size_t i = 1; i + 1 < steps_.size(); ++i)
    if (steps_[i + 1].unix_s - steps_[i].unix_s < steps_[best + 1].unix_s - steps_[best].unix_s) best = i;
  steps_[best + 1].cores = steps_[best].cores;  // the higher one, kept as long as the later
  steps_.erase(steps_.begin() + static_cast<std::ptrdiff_t>(best));
}

const RecentHighest::Step* RecentHighest::top(int64_t now_s) const {
  for (const Step& s : steps_)
    if (!expired(s, now_s)) return &s;  // the first unexpired step is the highest left
  return nullptr;
}

bool RecentHighest::restore(const std::vector<Step>& steps, double max_cores) {
  if (steps.size() > kMaxSteps) return false;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!std::isfinite(steps[i].cores) || steps[i].cores < 0 || steps[i].cores > max_cores) return false;
    if (i > 0 && (steps[i].unix_s <= steps[i - 1].unix_s || steps[i].cores >= steps[i - 1].cores)) return false;
  }
  steps_ = steps;
  return true;
}

}  // namespace antiphase::shape
