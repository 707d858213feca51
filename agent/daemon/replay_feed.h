#pragma once
// Sampler mode "replay": feeds the agent a recorded trace instead of the kernel, on an
// accelerated clock, so demos and tests show the whole system without real tenants.
// Series whose id matches functions.pattern become functions (the capture group names
// them), which lets several demo agents each take their own share of one trace.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <regex>
#include <string>
#include <vector>

#include "agent/trace/series_matrix.h"

namespace antiphase::agent {

struct ReplayStep {
  int64_t unix_ms = 0;  // trace time
  double dt_s = 0;      // trace seconds this step covers
  std::map<std::string, double> cores;
};

class ReplayFeed {
 public:
  // Throws std::runtime_error (with the trace's line number for bad rows) or
  // std::invalid_argument when no series matches the pattern.
  ReplayFeed(const std::string& path, const std::string& pattern, double speed);

  // Advances the trace clock by wall_dt_s × speed and returns usage at the new time.
  // Wraps around at the end of the trace, so a demo can run for as long as it likes.
  ReplayStep advance(double wall_dt_s);
  // Only these functions run (a fleet driver places and removes them); nullopt: all.
  void set_running(std::optional<std::set<std::string>> names) { running_ = std::move(names); }
  std::string describe() const;

 private:
  replay::SeriesMatrix matrix_;
  std::vector<std::pair<std::string, size_t>> functions_;  // name, series index
  double speed_;
  double offset_s_ = 0;  // trace seconds since the window start
  std::optional<std::set<std::string>> running_;
};

}  // namespace antiphase::agent
