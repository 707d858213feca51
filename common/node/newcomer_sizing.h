#pragma once
// How much functions admitted blind (nothing measured anywhere, sized from their
// request) turned out to use, per core they requested. A request is a scheduler's
// guess: where newcomers keep using more than they asked for, a host that packs them
// at their request overloads (docs/admission.md "Newcomers"). An unknown function is
// sized at its request times a high quantile of that ratio, never below its request.
//
// Sans-IO like the node core: the caller passes the tick's unix time.
#include "common/config/defaults.h"
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace antiphase::node {

struct NewcomerConfig {
  // Quantile of the observed ratios an unknown function is sized at; 0 trusts requests.
  double quantile = defaults::kNewcomerQuantile;
  size_t window = 128;       // the most recent newcomers that count
  size_t min_samples = 8;    // fewer: requests are trusted
  int64_t watch_s = 7 * 86400;  // a newcomer's highest use over its stay, up to a week
};

// A function missing from the ticks this long has left: one tick without it (a cgroup
// between two containers, a sampler that missed it) is not a departure.
inline constexpr int64_t kGoneAfterS = 900;

class NewcomerSizing {
 public:
  explicit NewcomerSizing(NewcomerConfig config = {}) : config_(config) {}
  void reconfigure(const NewcomerConfig& config);

  // A function admitted blind, sized from `requested_cores` per instance.
  void admitted(const std::string& function, double requested_cores);
  // Per tick: what a watched function used per instance.
  void measured(const std::string& function, double cores_per_instance, int64_t unix_s);
  // After each tick: a watched function not seen for kGoneAfterS has left, one watched
  // for watch_s has shown enough; either becomes a sample.
  void settle(int64_t unix_s);

  double factor() const { return factor_; }  // >= 1
  size_t samples() const { return ratios_.size(); }
  size_t watched() const { return watched_.size(); }
  // measured() for every watched function `cores_of(name)` knows (per instance), then settle().
  template <typename CoresOf>
  void observe(int64_t unix_s, CoresOf&& cores_of) {
    for (auto& [name, w] : watched_)
      if (const std::optional<double> cores = cores_of(name)) note(w, *cores, unix_s);
    settle(unix_s);
  }

 private:
  struct Watch {
    double requested = 0, highest = 0;
    int64_t first_unix_s = -1;  // first tick that showed it
    int64_t last_unix_s = -1;   // last tick that showed it
    int64_t admitted_unix_s = -1;  // the first settle after its admission
  };
  static void note(Watch& w, double cores_per_instance, int64_t unix_s);
  void add_sample(double ratio);
  void refresh_factor();

  NewcomerConfig config_;
  std::map<std::string, Watch> watched_;
  std::deque<double> ratios_;
  double factor_ = 1.0;
};

}  // namespace antiphase::node
