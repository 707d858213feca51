// perf_sample mode at the frequency that ships, against cpu.stat, for tenants that use
// part of a CPU: regular duty cycles (which can line up with a fixed sampling period),
// random bursts, a mostly idle tenant, and short-lived processes. Next to each tenant
// runs a 1.0-core busy loop, as in the report that found the bias (issue 20): on a quiet
// 2-CPU host the tenant then has a CPU of its own, idle whenever the tenant sleeps.
//
// The bound: the harvesting estimator charges each task's own runtime, late by what the
// task ran since its last sample (about one sampling period of its CPU time, ~20 ms at
// 49 Hz), at both ends of the window: a difference with a standard deviation of ~30 ms
// of CPU. Each window is long enough that 10 % of the tenant's nominal CPU is five of
// those: 8 s for the 0.2-0.5-core tenants, 15 s for 0.1 core, 30 s for 0.05 core. (On a
// busy host the tenants get less CPU; 18 busy windows stayed within 3.6 %.)
//
// The counting estimator (the no-BTF fallback, and every kernel's estimator before the
// fix) runs side by side on the same window; its error is printed, not asserted.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "agent/features/feature_probe.h"
#include "agent/sampler/bpf_samplers.h"
#include "agent/sampler/make_sampler.h"
#include "tests/bpf/cgroup_fixture.h"
#include "tests/bpf/workload.h"

namespace antiphase::testing {
namespace {

struct Scenario {
  const char* name;
  DutyCycle cycle;
  int window_s;
};

// Host-wide idle share of the CPUs over an interval, from /proc/stat (idle + iowait):
// says whether the window ran on a quiet host (the case that used to fail) or a busy one.
class HostIdle {
 public:
  HostIdle() : start_(read()) {}
  double share() const {
    const auto end = read();
    const double total = double(end.total - start_.total);
    return total > 0 ? double(end.idle - start_.idle) / total : 0.0;
  }

 private:
  struct Ticks {
    unsigned long long idle = 0, total = 0;
  };
  static Ticks read() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    Ticks t;
    for (int field = 0; field < 8; ++field) {
      unsigned long long v = 0;
      in >> v;
      t.total += v;
      if (field == 3 || field == 4) t.idle += v;
    }
    return t;
  }
  Ticks start_;
};

uint64_t delta(const agent::UsageSnapshot& a, const agent::UsageSnapshot& b, uint64_t id) {
  return b.cpu_ns.at(id) - a.cpu_ns.at(id);
}

double signed_error(uint64_t measured, uint64_t reference) {
  return reference ? double(measured) / double(reference) - 1 : 0.0;
}

class PerfSampleAccuracy : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    if (!running_as_root()) GTEST_SKIP() << "needs root (creates cgroups, loads BPF)";
    mount_ = cgroup2_mount();
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
    for (const char* feature : {"perf_event", "btf", "raw_tp"}) {
      const auto st = features_.status(feature);
      if (!st.available) GTEST_SKIP() << "kernel lacks " << feature << " (perf_sample harvesting): " << st.detail;
    }
  }
  std::string mount_;
  agent::FeatureProbe features_;
};

TEST_P(PerfSampleAccuracy, WithinTenPercentOfCpuStatAtTheDefaultFrequency) {
  const Scenario& s = GetParam();
  const unsigned hz = agent::SamplerOptions{}.perf_hz;
  agent::BpfPerfSampler harvest(hz, 64);
  agent::BpfPerfSampler count(hz, 64, agent::PerfEstimator::Count);
  ASSERT_EQ(harvest.stats().at("perf_estimator"), "harvest");

  ScopedCgroup parent(mount_, unique_cgroup_name("antiphase-test"));
  ScopedCgroup busy(parent.path(), "busy");
  ScopedCgroup tenant(parent.path(), "tenant");
  Burner busy_burner(busy, BurnPattern::Full);
  Burner tenant_burner(tenant, s.cycle);
  const std::vector<agent::WatchedCgroup> watched{{busy.id(), busy.path(), true}, {tenant.id(), tenant.path(), true}};
  harvest.set_watched(watched);
  count.set_watched(watched);
  sleep_for_ms(300);

  const HostIdle idle;
  const auto h0 = harvest.read(), c0 = count.read();
  const uint64_t b0 = busy.usage_ns(), t0 = tenant.usage_ns();
  sleep_for_ms(s.window_s * 1000);
  const auto h1 = harvest.read(), c1 = count.read();
  const uint64_t b1 = busy.usage_ns(), t1 = tenant.usage_ns();

  const double seconds = double(h1.monotonic_ns - h0.monotonic_ns) / 1e9;
  const uint64_t tenant_ns = delta(h0, h1, tenant.id()), busy_ns = delta(h0, h1, busy.id());
  const uint64_t tenant_count_ns = delta(c0, c1, tenant.id()), busy_count_ns = delta(c0, c1, busy.id());
  std::printf("[perf_sample %u Hz, %s] window %.1f s, host idle %.0f %%\n", hz, s.name, seconds, 100 * idle.share());
  std::printf("  tenant: cpu.stat %.4f cores; harvest %.4f (%+.1f %%); count %.4f (%+.1f %%)\n",
              (t1 - t0) / 1e9 / seconds, tenant_ns / 1e9 / seconds, 100 * signed_error(tenant_ns, t1 - t0),
              tenant_count_ns / 1e9 / seconds, 100 * signed_error(tenant_count_ns, t1 - t0));
  std::printf("  busy:   cpu.stat %.4f cores; harvest %.4f (%+.1f %%); count %.4f (%+.1f %%)\n",
              (b1 - b0) / 1e9 / seconds, busy_ns / 1e9 / seconds, 100 * signed_error(busy_ns, b1 - b0),
              busy_count_ns / 1e9 / seconds, 100 * signed_error(busy_count_ns, b1 - b0));
  ASSERT_GT(t1 - t0, 0.01e9 * s.window_s) << "the tenant barely ran";
  EXPECT_LE(relative_error(tenant_ns, t1 - t0), 0.10);
  EXPECT_LE(relative_error(busy_ns, b1 - b0), 0.10);
}

std::string test_name(const ::testing::TestParamInfo<Scenario>& info) {
  std::string name;
  for (const char* c = info.param.name; *c; ++c) {
    const bool keep = std::isalnum(static_cast<unsigned char>(*c));
    if (keep || (!name.empty() && name.back() != '_')) name += keep ? *c : '_';
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Tenants, PerfSampleAccuracy,
    ::testing::Values(Scenario{"regular 5/5 ms", {5000, 5000, 5000, 5000}, 8},
                      Scenario{"regular 1/9 ms", {1000, 1000, 9000, 9000}, 15},
                      Scenario{"regular 20/20 ms", {20000, 20000, 20000, 20000}, 8},
                      Scenario{"random 1-15 ms bursts", {1000, 15000, 1000, 15000}, 8},
                      Scenario{"mostly idle, 1 ms per 11-29 ms", {1000, 1000, 10000, 28000}, 30},
                      Scenario{"a new 2 ms process every 10 ms", {2000, 2000, 8000, 8000, true}, 8}),
    test_name);

}  // namespace
}  // namespace antiphase::testing
