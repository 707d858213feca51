#include "agent/sampler/make_sampler.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "agent/sampler/bpf_samplers.h"
#include "agent/sampler/cgroup_stat_sampler.h"

namespace antiphase::agent {
namespace {

// Collects why each candidate was passed over, in order.
struct Attempts {
  std::vector<std::string> failures;
  bool counting_passed_over = false;  // perf events work, but only counting would
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

// What counting perf samples is good for, said wherever it is chosen or passed over: a
// tenant using c cores collects about c x hz samples a second, so its relative error
// over T seconds is about 1/sqrt(c x hz x T).
std::string counting_caveat(unsigned hz) {
  const auto percent = [hz](double seconds) {
    return std::to_string(static_cast<int>(std::lround(100 / std::sqrt(0.1 * hz * seconds))));
  };
  return "counting samples is statistical: a tenant using c cores is off by about 1/sqrt(c x " +
         std::to_string(hz) + " x seconds) (0.1 core: +-" + percent(900) + " % over a 15-minute profile slot, +-" +
         percent(1) + " % per 1 s tick), and a regular run/sleep rhythm can bias it";
}

bool perf_events_usable(const FeatureProbe& f, Attempts& attempts) {
  for (const char* feature : {"cap_bpf", "perf_event"}) {
    if (!f.has(feature)) {
      attempts.fail("perf_sample: " + unavailable(f, feature));
      return false;
    }
  }
  return true;
}

// Harvesting runtimes needs CO-RE (kernel BTF) and a raw tracepoint for freed tasks.
std::unique_ptr<Sampler> try_perf_harvest(const SamplerOptions& o, const FeatureProbe& f, Attempts& attempts) {
  if (!perf_events_usable(f, attempts)) return nullptr;
  if (!f.has("btf") || !f.has("raw_tp")) {
    attempts.fail("perf_sample harvesting: " + unavailable(f, f.has("btf") ? "raw_tp" : "btf"));
    attempts.counting_passed_over = true;
    return nullptr;
  }
  try {
    return std::make_unique<BpfPerfSampler>(o.perf_hz, o.max_cgroups, PerfEstimator::Harvest);
  } catch (const std::exception& e) {
    attempts.fail(std::string("perf_sample harvesting failed: ") + e.what());
  }
  return nullptr;
}

// Counting samples needs neither BTF nor raw_tp.
std::unique_ptr<Sampler> try_perf_count(const SamplerOptions& o, const FeatureProbe& f, Attempts& attempts) {
  if (!perf_events_usable(f, attempts)) return nullptr;
  try {
    return std::make_unique<BpfPerfSampler>(o.perf_hz, o.max_cgroups, PerfEstimator::Count);
  } catch (const std::exception& e) {
    attempts.fail(std::string("perf_sample failed: ") + e.what());
  }
  return nullptr;
}

std::unique_ptr<Sampler> try_perf(const SamplerOptions& o, const FeatureProbe& f, Attempts& attempts) {
  if (auto sampler = try_perf_harvest(o, f, attempts)) return sampler;
  return try_perf_count(o, f, attempts);
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

bool counts_samples(const Sampler& s) {
  const auto stats = s.stats();
  const auto it = stats.find("perf_estimator");
  return it != stats.end() && it->second == std::string(to_string(PerfEstimator::Count));
}

void set_why(std::string* why, const Sampler& chosen, const Attempts& attempts, bool forced, unsigned hz) {
  if (!why) return;
  std::string text = std::string(forced ? "sampler forced to " : "sampler auto-selected ") + describe(chosen);
  if (!attempts.failures.empty()) text += " after: " + attempts.joined();
  text += ".";
  if (counts_samples(chosen)) {
    text += " Note: " + counting_caveat(hz) + ".";
  } else if (!forced && attempts.counting_passed_over && chosen.mode() == SamplerMode::Cgroup) {
    text += " perf_sample could only count samples here, and " + counting_caveat(hz) +
            "; sampler.mode = \"perf_sample\" uses it anyway.";
  }
  *why = text;
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
        if (!sampler) sampler = try_perf_harvest(options, features, attempts);
      }
      // cpu.stat is exact; counting perf samples is only the last resort (see above).
      if (!sampler) sampler = try_cgroup(features, attempts);
      if (!sampler && features.has("cap_bpf")) sampler = try_perf_count(options, features, attempts);
      if (!sampler) throw std::runtime_error("no CPU sampler works on this host: " + attempts.joined());
      set_why(why, *sampler, attempts, false, options.perf_hz);
      return sampler;
  }
  if (!sampler) fail_forced(options.mode, attempts);
  set_why(why, *sampler, attempts, true, options.perf_hz);
  return sampler;
}

}  // namespace antiphase::agent
