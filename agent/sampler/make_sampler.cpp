#include "agent/sampler/make_sampler.h"

#include <stdexcept>
#include <vector>

#include "agent/sampler/bpf_samplers.h"
#include "agent/sampler/cgroup_stat_sampler.h"

namespace antiphase::agent {
namespace {

// Collects why each candidate was passed over, in order.
struct Attempts {
  std::vector<std::string> failures;
  void fail(const std::string& what) { failures.push_back(what); }
  std::string joined() const {
    std::string out;
    for (const auto& f : failures) out += (out.empty() ? "" : "; ") + f;
    return out;
  }
};

std::string unavailable(const FeatureProbe& features, const char* feature) {
  const auto st = features.status(feature);
  return std::string(feature) + " unavailable (" + st.detail + ")";
}

std::unique_ptr<Sampler> try_sched_switch(const SamplerOptions& o, const FeatureProbe& f, Attempts& attempts) {
  using Attach = BpfSchedSwitchSampler::Attach;
  // Both attach points run a CO-RE program, relocated against the kernel's BTF.
  if (!f.has("btf")) {
    attempts.fail("sched_switch: " + unavailable(f, "btf"));
    return nullptr;
  }
  for (auto [attach, feature] : {std::pair{Attach::TpBtf, "tp_btf"}, std::pair{Attach::RawTp, "raw_tp"}}) {
    if (!f.has(feature)) {
      attempts.fail("sched_switch via " + unavailable(f, feature));
      continue;
    }
    try {
      return std::make_unique<BpfSchedSwitchSampler>(attach, o.max_cgroups);
    } catch (const std::exception& e) {
      attempts.fail(std::string("sched_switch via ") + feature + " failed: " + e.what());
    }
  }
  return nullptr;
}

std::unique_ptr<Sampler> try_perf(const SamplerOptions& o, const FeatureProbe& f, Attempts& attempts) {
  if (!f.has("cap_bpf")) {
    attempts.fail("perf_sample: " + unavailable(f, "cap_bpf"));
    return nullptr;
  }
  if (!f.has("perf_event")) {
    attempts.fail("perf_sample: " + unavailable(f, "perf_event"));
    return nullptr;
  }
  // Harvesting runtimes needs CO-RE (kernel BTF) and a raw tracepoint for freed tasks;
  // counting samples needs neither.
  if (!f.has("btf") || !f.has("raw_tp")) {
    attempts.fail("perf_sample harvesting: " + unavailable(f, f.has("btf") ? "raw_tp" : "btf"));
  } else {
    try {
      return std::make_unique<BpfPerfSampler>(o.perf_hz, o.max_cgroups, PerfEstimator::Harvest);
    } catch (const std::exception& e) {
      attempts.fail(std::string("perf_sample harvesting failed: ") + e.what());
    }
  }
  try {
    return std::make_unique<BpfPerfSampler>(o.perf_hz, o.max_cgroups, PerfEstimator::Count);
  } catch (const std::exception& e) {
    attempts.fail(std::string("perf_sample failed: ") + e.what());
  }
  return nullptr;
}

std::unique_ptr<Sampler> try_cgroup(const FeatureProbe& f, Attempts& attempts) {
  if (!f.has("cgroup2")) {
    attempts.fail("cgroup: " + unavailable(f, "cgroup2"));
    return nullptr;
  }
  return std::make_unique<CgroupStatSampler>();
}

std::string describe(const Sampler& s) {
  std::string name(to_string(s.mode()));
  if (const auto* bpf = dynamic_cast<const BpfCpuSampler*>(&s)) name += " (" + bpf->describe() + ")";
  return name;
}

void set_why(std::string* why, const Sampler& chosen, const Attempts& attempts, bool forced) {
  if (!why) return;
  std::string text = std::string(forced ? "sampler forced to " : "sampler auto-selected ") + describe(chosen);
  if (!attempts.failures.empty()) text += " after: " + attempts.joined();
  *why = text + ".";
}

[[noreturn]] void fail_forced(SamplerMode mode, const Attempts& attempts) {
  throw std::runtime_error("sampler mode '" + std::string(to_string(mode)) +
                           "' cannot run on this host: " + attempts.joined());
}

}  // namespace

std::unique_ptr<Sampler> make_sampler(const SamplerOptions& options, const FeatureProbe& features,
                                      std::string* why) {
  Attempts attempts;
  std::unique_ptr<Sampler> sampler;
  switch (options.mode) {
    case SamplerMode::SchedSwitch:
      sampler = try_sched_switch(options, features, attempts);
      break;
    case SamplerMode::PerfSample:
      sampler = try_perf(options, features, attempts);
      break;
    case SamplerMode::Cgroup:
      sampler = try_cgroup(features, attempts);
      break;
    case SamplerMode::Replay:
      attempts.fail("the replay sampler is not built into this version");
      break;
    case SamplerMode::Auto:
      if (!features.has("cap_bpf")) {
        attempts.fail("eBPF samplers need root or CAP_BPF (" + features.status("cap_bpf").detail + ")");
      } else {
        sampler = try_sched_switch(options, features, attempts);
        if (!sampler) sampler = try_perf(options, features, attempts);
      }
      if (!sampler) sampler = try_cgroup(features, attempts);
      if (!sampler) throw std::runtime_error("no CPU sampler works on this host: " + attempts.joined());
      set_why(why, *sampler, attempts, false);
      return sampler;
  }
  if (!sampler) fail_forced(options.mode, attempts);
  set_why(why, *sampler, attempts, true);
  return sampler;
}

}  // namespace antiphase::agent
