#include "agent/sampler/sampler.h"

namespace antiphase::agent {

std::string_view to_string(SamplerMode m) {
  switch (m) {
    case SamplerMode::Auto: return "auto";
    case SamplerMode::SchedSwitch: return "sched_switch";
    case SamplerMode::PerfSample: return "perf_sample";
    case SamplerMode::Cgroup: return "cgroup";
    case SamplerMode::Replay: return "replay";
  }
  return "unknown";
}

bool parse_sampler_mode(std::string_view s, SamplerMode& out) {
  for (auto m : {SamplerMode::Auto, SamplerMode::SchedSwitch, SamplerMode::PerfSample,
                 SamplerMode::Cgroup, SamplerMode::Replay}) {
    if (s == to_string(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

}  // namespace antiphase::agent
