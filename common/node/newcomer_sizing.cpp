#include "common/node/newcomer_sizing.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace antiphase::node {
namespace {
// Requests smaller than this say nothing a ratio could scale (a "0 cores" guess).
constexpr double kMinRequestCores = 0.01;
// At most this many watches at once (admissions that never showed up lapse after kGoneAfterS).
constexpr size_t kMaxWatched = 4096;
}  // namespace

void NewcomerSizing::reconfigure(const NewcomerConfig& config) {
  config_ = config;
  while (ratios_.size() > config_.window) ratios_.pop_front();
  refresh_factor();
}

void NewcomerSizing::admitted(const std::string& function, double requested_cores) {
  if (!(requested_cores >= kMinRequestCores) || !std::isfinite(requested_cores)) return;
  if (watched_.size() >= kMaxWatched && !watched_.count(function)) return;
  // A second blind admission of the same function before it showed up: one watch.
  watched_.try_emplace(function, Watch{requested_cores, 0.0, -1, -1, -1});
}

void NewcomerSizing::measured(const std::string& function, double cores_per_instance, int64_t unix_s) {
  const auto it = watched_.find(function);
  if (it != watched_.end()) note(it->second, cores_per_instance, unix_s);
}

void NewcomerSizing::note(Watch& w, double cores_per_instance, int64_t unix_s) {
  if (!std::isfinite(cores_per_instance)) return;
  if (w.first_unix_s < 0) w.first_unix_s = unix_s;
  w.last_unix_s = unix_s;
  w.highest = std::max(w.highest, cores_per_instance);
}

void NewcomerSizing::settle(int64_t unix_s) {
  for (auto it = watched_.begin(); it != watched_.end();) {
    Watch& w = it->second;
    bool done = false;
    if (w.first_unix_s < 0) {  // admitted, not shown up yet: gone if it never comes
      if (w.admitted_unix_s < 0) w.admitted_unix_s = unix_s;
      done = unix_s - w.admitted_unix_s >= kGoneAfterS;
    } else if (unix_s - w.last_unix_s >= kGoneAfterS || unix_s - w.first_unix_s >= config_.watch_s) {
      add_sample(w.highest / w.requested);
      done = true;
    }
    it = done ? watched_.erase(it) : std::next(it);
  }
}

void NewcomerSizing::add_sample(double ratio) {
  if (!std::isfinite(ratio) || ratio < 0) return;
  ratios_.push_back(ratio);
  while (ratios_.size() > config_.window) ratios_.pop_front();
  refresh_factor();
}

// Recomputed when a sample arrives, not per decision (decisions are ~µs).
void NewcomerSizing::refresh_factor() {
  factor_ = 1.0;
  if (!(config_.quantile > 0) || ratios_.size() < std::max<size_t>(1, config_.min_samples)) return;
  std::vector<double> sorted(ratios_.begin(), ratios_.end());
  const double q = std::min(config_.quantile, 1.0);
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  const size_t k = std::min(sorted.size(), std::max<size_t>(1, rank)) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  factor_ = std::max(1.0, sorted[k]);
}

}  // namespace antiphase::node
