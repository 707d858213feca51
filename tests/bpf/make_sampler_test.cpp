// The factory's choices and its explanations, driven through feature overrides.
#include <gtest/gtest.h>

#include <cstdlib>

#include "agent/features/feature_probe.h"
#include "agent/sampler/make_sampler.h"
#include "tests/bpf/cgroup_fixture.h"

namespace antiphase::testing {
namespace {

using agent::FeatureProbe;
using agent::make_sampler;
using agent::SamplerMode;
using agent::SamplerOptions;

std::string attach_of(const agent::Sampler& s) {
  const auto stats = s.stats();
  auto it = stats.find("attach");
  return it == stats.end() ? "" : it->second;
}

class MakeSampler : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root()) GTEST_SKIP() << "needs root to load BPF";
  }
  FeatureProbe features_;
};

TEST_F(MakeSampler, AutoPrefersTpBtf) {
  if (!features_.has("tp_btf")) GTEST_SKIP() << "kernel lacks tp_btf: " << features_.status("tp_btf").detail;
  std::string why;
  auto s = make_sampler({}, features_, &why);
  EXPECT_EQ(s->mode(), SamplerMode::SchedSwitch);
  EXPECT_EQ(attach_of(*s), "tp_btf");
  EXPECT_NE(why.find("auto-selected sched_switch (tp_btf)"), std::string::npos) << why;
}

TEST_F(MakeSampler, AutoWithTpBtfOffPicksRawTpAndSaysWhy) {
  if (!features_.has("raw_tp")) GTEST_SKIP() << "kernel lacks raw_tp";
  features_.override("tp_btf", false);
  std::string why;
  auto s = make_sampler({}, features_, &why);
  EXPECT_EQ(s->mode(), SamplerMode::SchedSwitch);
  EXPECT_EQ(attach_of(*s), "raw_tp");
  EXPECT_NE(why.find("tp_btf unavailable (overridden"), std::string::npos) << why;
}

TEST_F(MakeSampler, EnvironmentOverrideWorksLikeCodeOverride) {
  if (!features_.has("raw_tp")) GTEST_SKIP() << "kernel lacks raw_tp";
  ::setenv("ANTIPHASE_FEATURE_TP_BTF", "0", 1);
  FeatureProbe fresh;
  auto s = make_sampler({}, fresh);
  const auto status = fresh.status("tp_btf");
  ::unsetenv("ANTIPHASE_FEATURE_TP_BTF");
  EXPECT_EQ(attach_of(*s), "raw_tp");
  EXPECT_FALSE(status.available);
  EXPECT_EQ(status.detail, "overridden by ANTIPHASE_FEATURE_TP_BTF=0");
}

// Without a sched_switch attach point, harvesting perf samples is impossible as well
// (it needs raw_tp for freed tasks): auto takes the exact cgroup sampler, says why, and
// says what counting perf samples would be good for; counting is the last resort.
TEST_F(MakeSampler, AutoFallsBackToCgroupThenCountingSamples) {
  features_.override("tp_btf", false);
  features_.override("raw_tp", false);
  std::string why;
  auto s = make_sampler({SamplerMode::Auto, 97, 16}, features_, &why);
  EXPECT_EQ(s->mode(), SamplerMode::Cgroup);
  EXPECT_NE(why.find("perf_sample harvesting: raw_tp unavailable"), std::string::npos) << why;
  if (features_.has("perf_event")) {
    EXPECT_NE(why.find("perf_sample could only count samples here"), std::string::npos) << why;
    features_.override("cgroup2", false);
    s = make_sampler({SamplerMode::Auto, 97, 16}, features_, &why);
    EXPECT_EQ(s->mode(), SamplerMode::PerfSample);
    EXPECT_EQ(s->stats().at("perf_estimator"), "count");
    EXPECT_EQ(s->stats().at("perf_hz"), "97");
    EXPECT_EQ(s->stats().at("sample_period_ns"), "10309278");
    EXPECT_NE(why.find("Note: counting samples is statistical"), std::string::npos) << why;
    features_.clear_override("cgroup2");
  }
  features_.override("perf_event", false);
  s = make_sampler({}, features_, &why);
  EXPECT_EQ(s->mode(), SamplerMode::Cgroup);
  EXPECT_NE(why.find("perf_event unavailable"), std::string::npos) << why;
}

// Without kernel BTF neither CO-RE object can be relocated: the sched_switch programs and
// perf harvesting are out, and auto prefers exact cpu.stat to counting perf samples.
TEST_F(MakeSampler, WithoutBtfAutoPicksCgroupAndSaysWhatCountingIsGoodFor) {
  if (!features_.has("perf_event")) GTEST_SKIP() << "no perf events";
  features_.override("btf", false);
  std::string why;
  auto s = make_sampler({}, features_, &why);
  EXPECT_EQ(s->mode(), SamplerMode::Cgroup);
  EXPECT_NE(why.find("sched_switch: btf unavailable"), std::string::npos) << why;
  EXPECT_NE(why.find("perf_sample harvesting: btf unavailable"), std::string::npos) << why;
  EXPECT_NE(why.find("per 1 s tick"), std::string::npos) << why;
}

// perf_sample harvests task runtimes where CO-RE works, and counts samples where it
// cannot; the choice and its reason are in `why`.
TEST_F(MakeSampler, PerfSampleHarvestsWithBtfAndCountsWithout) {
  if (!features_.has("perf_event")) GTEST_SKIP() << "no perf events";
  if (features_.has("btf") && features_.has("raw_tp")) {
    std::string why;
    auto s = make_sampler({SamplerMode::PerfSample}, features_, &why);
    EXPECT_EQ(s->stats().at("perf_estimator"), "harvest");
    EXPECT_NE(why.find("sampler forced to perf_sample (perf_event, harvest)"), std::string::npos) << why;
  }
  features_.override("btf", false);
  std::string why;
  auto s = make_sampler({SamplerMode::PerfSample}, features_, &why);
  EXPECT_EQ(s->stats().at("perf_estimator"), "count");
  EXPECT_NE(why.find("perf_sample (perf_event, count)"), std::string::npos) << why;
  EXPECT_NE(why.find("perf_sample harvesting: btf unavailable"), std::string::npos) << why;
}

TEST_F(MakeSampler, WithoutPrivilegeAutoUsesCgroupAndSaysSo) {
  features_.override("cap_bpf", false);
  std::string why;
  auto s = make_sampler({}, features_, &why);
  EXPECT_EQ(s->mode(), SamplerMode::Cgroup);
  EXPECT_NE(why.find("need root or CAP_BPF"), std::string::npos) << why;
}

TEST_F(MakeSampler, ForcedModeThatCannotWorkThrowsWithReason) {
  features_.override("tp_btf", false);
  features_.override("raw_tp", false);
  try {
    make_sampler({SamplerMode::SchedSwitch}, features_);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("sampler mode 'sched_switch' cannot run on this host"), std::string::npos) << msg;
    EXPECT_NE(msg.find("raw_tp unavailable"), std::string::npos) << msg;
  }
  features_.override("perf_event", false);
  EXPECT_THROW(make_sampler({SamplerMode::PerfSample}, features_), std::runtime_error);
  EXPECT_THROW(make_sampler({SamplerMode::Replay}, features_), std::runtime_error);
}

TEST_F(MakeSampler, BadOptionsGiveClearErrors) {
  if (!features_.has("perf_event")) GTEST_SKIP() << "no perf events";
  try {
    make_sampler({SamplerMode::PerfSample, 0, 16}, features_);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("1..100000 Hz"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_sampler({SamplerMode::SchedSwitch, 49, 0}, features_), std::runtime_error);
}

TEST_F(MakeSampler, ForcedCgroupModeWorks) {
  auto s = make_sampler({SamplerMode::Cgroup}, features_);
  EXPECT_EQ(s->mode(), SamplerMode::Cgroup);
}

}  // namespace
}  // namespace antiphase::testing
