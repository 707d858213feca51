#pragma once
// Decides when a host republishes a function's summary: only when its shape moved by at
// least `threshold` (the caller measures the change, e.g. relative L2 distance of the
// embeddings) and not more often than `min_interval_s`; plus a slow refresh every
// `refresh_s` so a summary lost to eviction or purge elsewhere comes back. Pure: time
// is passed in. This is what keeps gossip traffic proportional to shape *changes*.
#include <string>
#include <unordered_map>

namespace antiphase::gossip {

class RepublishGate {
 public:
  RepublishGate(double threshold, double min_interval_s, double refresh_s)
      : threshold_(threshold), min_interval_s_(min_interval_s), refresh_s_(refresh_s) {}

  // True if `function` should be published now; records the publication when true.
  bool admit(const std::string& function, double change, double now) {
    const auto it = last_published_.find(function);
    const bool due = it == last_published_.end() || now - it->second >= refresh_s_ ||
                     (change >= threshold_ && now - it->second >= min_interval_s_);
    if (due) last_published_[function] = now;
    return due;
  }
  void forget(const std::string& function) { last_published_.erase(function); }
  size_t tracked() const { return last_published_.size(); }

 private:
  double threshold_, min_interval_s_, refresh_s_;
  std::unordered_map<std::string, double> last_published_;
};

}  // namespace antiphase::gossip
