#pragma once
// The most a function used within a moving window, and when: what lets a burst count
// in full for a while and then be forgotten, instead of sizing the function for good.
// A staircase of steps, oldest first, each higher than every later one (a later, higher
// use hides every earlier, lower one). Bounded: past kMaxSteps, the two steps closest in
// time merge into the higher height at the later time, so a use is never remembered
// lower or for less than the window, only sometimes a little longer.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace antiphase::shape {

class RecentHighest {
 public:
  struct Step {
    int64_t unix_s = 0;
    double cores = 0;
    bool operator==(const Step&) const = default;
  };
  static constexpr size_t kMaxSteps = 8;

  // window_s > 0: how long a use counts in full.
  explicit RecentHighest(double window_s = 0) : window_s_(window_s) {}

  // A use of `cores` seen at unix_s, in any order; uses older than the window before the
  // newest one noted are dropped.
  void note(int64_t unix_s, double cores);
  // The highest step within the window before now_s (nullptr: none).
  const Step* top(int64_t now_s) const;

  const std::vector<Step>& steps() const { return steps_; }
  size_t heap_bytes() const { return steps_.capacity() * sizeof(Step); }
  // Replaces the steps (from a state file); false, untouched, unless each is finite,
  // 0..max_cores, and the list is a staircase of at most kMaxSteps.
  bool restore(const std::vector<Step>& steps, double max_cores);

 private:
  bool expired(const Step& s, int64_t now_s) const { return static_cast<double>(now_s - s.unix_s) > window_s_; }
  void merge_closest();

  double window_s_;
  std::vector<Step> steps_;
};

}  // namespace antiphase::shape
