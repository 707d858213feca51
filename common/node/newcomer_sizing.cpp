#include "common/node/newcomer_sizing.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace antiphase::node {
namespace {
// Requests smaller than this say nothing a ratio could scale (a "0 cores" guess).
constexpr double kMinRequestCores = 0.01;
// Watches of functions admitted but never seen are dropped beyond this many.
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
  watched_.try_emplace(function, Watch{requested_cores, 0.0, -1});
}

void NewcomerSizing::measured(const std::string& function, double cores_per_instance, int64_t unix_s) {
  const auto it = watched_.find(function);
  if (it == watched_.end() || !std::isfinite(cores_per_instance)) return;
  Watch& w = it->second;
  if (w.first_unix_s < 0) w.first_unix_s = unix_s;
  w.highest = std::max(w.highest, cores_per_instance);
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
