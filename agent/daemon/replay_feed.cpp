#include "agent/daemon/replay_feed.h"

#include <cmath>
#include <stdexcept>

namespace antiphase::agent {

ReplayFeed::ReplayFeed(const std::string& path, const std::string& pattern, double speed) : speed_(speed) {
  if (path.empty()) throw std::invalid_argument("sampler.replay_file: replay mode needs a trace file");
  const replay::Trace trace = replay::read_trace(path);
  if (trace.rows.empty()) throw std::invalid_argument("sampler.replay_file: " + path + " holds no samples");
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto& r : trace.rows) {
    first = std::min(first, r.timestamp);
    last = std::max(last, r.timestamp);
  }
  const int64_t step = std::max<int64_t>(1, replay::detect_step(trace));
  matrix_ = replay::align(trace, {first, last + step}, step);
  const std::regex re(pattern);
  for (size_t i = 0; i < trace.functions.size(); ++i) {
    std::smatch m;
    if (matrix_.series[i].empty() || !std::regex_search(trace.functions[i], m, re) || !m[1].matched) continue;
    functions_.push_back({m[1].str(), i});
  }
  if (functions_.empty())
    throw std::invalid_argument("functions.pattern matches no series id of " + path + " (replay mode)");
}

ReplayStep ReplayFeed::advance(double wall_dt_s) {
  const double span_s = static_cast<double>(matrix_.window.seconds());
  offset_s_ = std::fmod(offset_s_ + wall_dt_s * speed_, span_s);
  const auto step = static_cast<size_t>(offset_s_ / static_cast<double>(matrix_.step_s));
  ReplayStep out;
  out.unix_ms = (matrix_.window.start + static_cast<int64_t>(offset_s_)) * 1000;
  out.dt_s = wall_dt_s * speed_;
  for (const auto& [name, index] : functions_)
    if (!running_ || running_->count(name)) out.cores[name] += matrix_.series[index][std::min(step, matrix_.steps - 1)];
  return out;
}

std::string ReplayFeed::describe() const {
  return "replaying " + std::to_string(functions_.size()) + " series over " +
         std::to_string(matrix_.window.seconds() / 3600) + " h of trace at " + std::to_string(static_cast<int64_t>(speed_)) +
         "x (step " + std::to_string(matrix_.step_s) + " s)";
}

}  // namespace antiphase::agent
