#pragma once
// The measured setup shared by the accuracy tests:
//   <cgroup2>/antiphase-test-<pid>-<n>/        parent, no processes of its own
//                                      full/   a 1.0-core busy loop
//                                      half/   a ~0.5-core duty-cycled burner
// and a helper that measures a sampler against cpu.stat over one window.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/sampler/sampler.h"
#include "tests/bpf/cgroup_fixture.h"

namespace antiphase::testing {

struct Workload {
  explicit Workload(const std::string& mount);
  std::vector<agent::WatchedCgroup> watched() const;

  // Declaration order = reverse destruction order: burners die before their cgroups,
  // children before the parent.
  std::unique_ptr<ScopedCgroup> parent, full, half;
  std::unique_ptr<Burner> full_burner, half_burner;
};

struct WindowResult {
  uint64_t sampler_parent = 0, sampler_full = 0, sampler_half = 0;  // ns, sampler deltas
  uint64_t stat_parent = 0, stat_full = 0, stat_half = 0;           // ns, cpu.stat deltas
  double seconds = 0;
};

// set_watched, warm up, then read the sampler and cpu.stat back to back at both ends of
// a window of `window_ms`.
WindowResult measure_window(agent::Sampler& sampler, const Workload& w, int window_ms);

double relative_error(uint64_t measured, uint64_t reference);
void print_window(const char* label, const WindowResult& r);

}  // namespace antiphase::testing
