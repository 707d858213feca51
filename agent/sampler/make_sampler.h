#pragma once
// Picks and builds the sampler for this host.
//
// auto: sched_switch (tp_btf, else raw_tp) -> perf_sample harvesting task runtimes (needs
// BTF) -> cgroup cpu.stat -> perf_sample counting samples (statistical: last resort), and
// `why` gets one human sentence on the choice and on every failure on the way (libbpf's
// text, missing capability, ...), and on what counting samples is good for when it is
// chosen or passed over. A forced mode that cannot work throws std::runtime_error;
// forced perf_sample harvests where it can and counts otherwise.
#include <cstdint>
#include <memory>
#include <string>

#include "agent/features/feature_probe.h"
#include "agent/sampler/sampler.h"
#include "common/config/defaults.h"

namespace antiphase::agent {

struct SamplerOptions {
  SamplerMode mode = SamplerMode::Auto;
  unsigned perf_hz = defaults::kPerfFrequencyHz;
  unsigned max_cgroups = defaults::kMaxCgroups;
};

std::unique_ptr<Sampler> make_sampler(const SamplerOptions& options, const FeatureProbe& features,
                                      std::string* why = nullptr);

}  // namespace antiphase::agent
