// Each sampler's per-cgroup CPU time against the kernel's own cpu.stat usage_usec.
#include <gtest/gtest.h>

#include <cstdio>

#include "agent/features/feature_probe.h"
#include "agent/sampler/bpf_samplers.h"
#include "agent/sampler/cgroup_stat_sampler.h"
#include "tests/bpf/workload.h"

namespace antiphase::testing {
namespace {

using agent::BpfPerfSampler;
using agent::BpfSchedSwitchSampler;

constexpr int kWindowMs = 5000;

class SamplerAccuracy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root()) GTEST_SKIP() << "needs root (creates cgroups, loads BPF)";
    mount_ = cgroup2_mount();
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
  }
  // Empty when the feature is there; else why not (GTEST_SKIP must be in the test body:
  // in a helper it would only return from the helper).
  std::string lacking(const char* feature) {
    const auto st = features_.status(feature);
    return st.available ? "" : "kernel lacks " + std::string(feature) + ": " + st.detail;
  }
  std::string mount_;
  agent::FeatureProbe features_;
};

void expect_exact_accounting(const WindowResult& r) {
  EXPECT_GT(r.stat_full, 250000000ULL) << "the busy loop barely ran; host overloaded?";
  EXPECT_LE(relative_error(r.sampler_full, r.stat_full), 0.02);
  EXPECT_LE(relative_error(r.sampler_half, r.stat_half), 0.02);
  // Nested cgroups are reported under their own ids: the parent has no tasks of its own.
  EXPECT_LE(r.sampler_parent, (r.stat_full + r.stat_half) / 100);
}

// The 1.0-core burner is rarely switched out, so most of its time is in the running
// slice, which the sampler must add at read time. Some kernels (this project's CI VM
// among them) never trace the switch-out of certain tasks, so the burner often resumes
// after one of them without a traced switch-in; both paths are exercised here.
TEST_F(SamplerAccuracy, SchedSwitchTpBtfWithinTwoPercent) {
  if (const auto why = lacking("tp_btf"); !why.empty()) GTEST_SKIP() << why;
  BpfSchedSwitchSampler sampler(BpfSchedSwitchSampler::Attach::TpBtf, 64);
  Workload w(mount_);
  const auto r = measure_window(sampler, w, kWindowMs);
  print_window("sched_switch tp_btf", r);
  const auto stats = sampler.stats();
  std::printf("  switch-ins not traced: %s; running slice: %s\n", stats.at("unseen_switch_ins").c_str(),
              stats.at("running_slice").c_str());
  expect_exact_accounting(r);
}

TEST_F(SamplerAccuracy, SchedSwitchRawTpWithinTwoPercent) {
  if (const auto why = lacking("raw_tp"); !why.empty()) GTEST_SKIP() << why;
  BpfSchedSwitchSampler sampler(BpfSchedSwitchSampler::Attach::RawTp, 64);
  Workload w(mount_);
  const auto r = measure_window(sampler, w, kWindowMs);
  print_window("sched_switch raw_tp", r);
  expect_exact_accounting(r);
}

// perf_sample's counting estimator, the fallback on kernels without BTF (the harvesting
// one, which ships where BTF exists, is tested at the default frequency in
// perf_sample_accuracy_test). Counting is statistical: a cgroup using c cores over T s
// collects ~c*T*f samples, a relative standard error of about 1/sqrt(c*T*f). At 997 Hz
// (prime, no lock-step with the 1 kHz-ish timers) 0.5 core over 5 s is ~2500 samples
// (~2 %), so a 10 % bound tests the mechanism rather than luck. At the default 49 Hz it
// cannot be tested in seconds; see docs/benchmarks/bpf.md for what it gets there.
TEST_F(SamplerAccuracy, PerfSampleCountingWithinTenPercentAt997Hz) {
  if (const auto why = lacking("perf_event"); !why.empty()) GTEST_SKIP() << why;
  BpfPerfSampler sampler(997, 64, agent::PerfEstimator::Count);
  Workload w(mount_);
  const auto r = measure_window(sampler, w, kWindowMs);
  print_window("perf_sample count 997 Hz", r);
  EXPECT_GT(r.stat_full, 250000000ULL);
  EXPECT_LE(relative_error(r.sampler_full, r.stat_full), 0.10);
  EXPECT_LE(relative_error(r.sampler_half, r.stat_half), 0.10);
  EXPECT_LE(r.sampler_parent, (r.stat_full + r.stat_half) / 20);
}

TEST_F(SamplerAccuracy, CgroupSamplerMatchesCpuStatForFunctionRoots) {
  agent::CgroupStatSampler sampler;
  Workload w(mount_);
  const auto r = measure_window(sampler, w, 2000);
  print_window("cgroup cpu.stat", r);
  // Same source, read microseconds apart: only the read skew separates them.
  EXPECT_LE(relative_error(r.sampler_full, r.stat_full), 0.01);
  EXPECT_LE(relative_error(r.sampler_half, r.stat_half), 0.01);
  // The parent is not a function root, so it is not reported at all.
  const auto snap = sampler.read();
  EXPECT_EQ(snap.cpu_ns.count(w.parent->id()), 0u);
  EXPECT_EQ(snap.cpu_ns.size(), 2u);
}

}  // namespace
}  // namespace antiphase::testing
