// Pure bookkeeping of the samplers and the feature probe; needs no privileges.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>

#include "agent/features/feature_probe.h"
#include "agent/sampler/cpu_account_program.h"
#include "agent/sampler/sampler.h"
#include "agent/sampler/slot_table.h"
#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent {
namespace {

TEST(SamplerMode, RoundTripsEveryNameAndRejectsUnknown) {
  for (auto m : {SamplerMode::Auto, SamplerMode::SchedSwitch, SamplerMode::PerfSample, SamplerMode::Cgroup,
                 SamplerMode::Replay}) {
    SamplerMode parsed = SamplerMode::Auto;
    ASSERT_TRUE(parse_sampler_mode(to_string(m), parsed)) << to_string(m);
    EXPECT_EQ(parsed, m);
  }
  SamplerMode out = SamplerMode::Cgroup;
  EXPECT_FALSE(parse_sampler_mode("sched-switch", out));
  EXPECT_FALSE(parse_sampler_mode("", out));
  EXPECT_EQ(out, SamplerMode::Cgroup) << "unchanged on failure";
  EXPECT_EQ(to_string(SamplerMode::PerfSample), "perf_sample");
}

TEST(SlotTable, AssignsSlotsFromOneAndNeverSlotZero) {
  SlotTable t(3);
  const auto c = t.sync({100, 200, 300});
  ASSERT_EQ(c.added.size(), 3u);
  EXPECT_EQ(*t.slot_of(100), 1u);
  EXPECT_EQ(*t.slot_of(200), 2u);
  EXPECT_EQ(*t.slot_of(300), 3u);
  EXPECT_TRUE(c.removed.empty());
  EXPECT_TRUE(c.rejected.empty());
}

TEST(SlotTable, ReusesFreedSlotsOldestFirstAfterFreshOnes) {
  SlotTable t(4);
  t.sync({1, 2});            // slots 1, 2
  t.sync({2});               // frees slot 1
  auto c = t.sync({2, 3});   // a fresh slot (3) before reusing 1
  EXPECT_EQ(*t.slot_of(3), 3u);
  t.sync({2, 3, 4});         // slot 4, the last fresh one
  c = t.sync({2, 3, 4, 5});  // now slot 1 is reused
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0], (std::pair<uint64_t, uint32_t>{5, 1}));
}

TEST(SlotTable, RejectsWhenFullAndIgnoresDuplicates) {
  SlotTable t(2);
  const auto c = t.sync({7, 7, 8, 9});
  EXPECT_EQ(c.added.size(), 2u);
  ASSERT_EQ(c.rejected.size(), 1u);
  EXPECT_EQ(c.rejected[0], 9u);
  EXPECT_EQ(t.size(), 2u);
  const auto again = t.sync({7, 8});
  EXPECT_TRUE(again.added.empty());
  EXPECT_TRUE(again.removed.empty());
}

TEST(ParseCpuList, HandlesRangesListsAndGarbage) {
  EXPECT_EQ(parse_cpu_list("0-1\n"), (std::vector<int>{0, 1}));
  EXPECT_EQ(parse_cpu_list("0,2-4,7"), (std::vector<int>{0, 2, 3, 4, 7}));
  EXPECT_EQ(parse_cpu_list("5"), (std::vector<int>{5}));
  EXPECT_TRUE(parse_cpu_list("").empty());
  EXPECT_TRUE(parse_cpu_list("a-b").empty());
  EXPECT_TRUE(parse_cpu_list("4-2").empty());
  EXPECT_TRUE(parse_cpu_list("0-99999999").empty());
}

void use_fake_probes(FeatureProbe& f) {
  for (const auto& name : f.names()) f.set_probe(name, [] { return probes::ProbeResult{true, "fake"}; });
}

TEST(FeatureProbe, ProbesAreLazyAndCached) {
  FeatureProbe f;
  int calls = 0;
  f.set_probe("cgroup2", [&] {
    ++calls;
    return probes::ProbeResult{true, "/fake"};
  });
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(f.has("cgroup2"));
  EXPECT_TRUE(f.has("cgroup2"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(f.status("cgroup2").detail, "/fake");
}

TEST(FeatureProbe, OverrideBeatsEnvironmentBeatsProbe) {
  FeatureProbe f;
  use_fake_probes(f);
  ::setenv("ANTIPHASE_FEATURE_PERF_EVENT", "off", 1);
  EXPECT_FALSE(f.has("perf_event"));
  EXPECT_EQ(f.status("perf_event").detail, "overridden by ANTIPHASE_FEATURE_PERF_EVENT=off");
  f.override("perf_event", true);
  EXPECT_TRUE(f.has("perf_event"));
  f.clear_override("perf_event");
  ::unsetenv("ANTIPHASE_FEATURE_PERF_EVENT");
  EXPECT_TRUE(f.has("perf_event"));
  ::setenv("ANTIPHASE_FEATURE_PERF_EVENT", "maybe", 1);  // not a boolean: ignored
  EXPECT_TRUE(f.has("perf_event"));
  ::unsetenv("ANTIPHASE_FEATURE_PERF_EVENT");
}

TEST(FeatureProbe, BpfAttachPointsDependOnPrivilegeAndBtf) {
  FeatureProbe f;
  use_fake_probes(f);
  f.override("btf", false);
  EXPECT_FALSE(f.has("tp_btf"));
  EXPECT_NE(f.status("tp_btf").detail.find("BTF"), std::string::npos);
  EXPECT_TRUE(f.has("raw_tp"));
  f.override("cap_bpf", false);
  EXPECT_FALSE(f.has("raw_tp"));
  EXPECT_EQ(f.status("raw_tp").detail, "needs CAP_BPF (or root)");
}

TEST(FeatureProbe, ReportListsEveryFeatureInOrderAndRejectsUnknownNames) {
  FeatureProbe f;
  use_fake_probes(f);
  const auto report = f.report();
  ASSERT_EQ(report.size(), 7u);
  EXPECT_EQ(report[0].name, "btf");
  EXPECT_EQ(report[6].name, "cgroup2");
  EXPECT_THROW(f.has("warp_drive"), std::invalid_argument);
  EXPECT_THROW(f.override("warp_drive", true), std::invalid_argument);
  EXPECT_EQ(FeatureProbe::env_var_for("tp_btf"), "ANTIPHASE_FEATURE_TP_BTF");
}

TEST(FeatureProbe, RealProbesNeverThrowAndAlwaysExplain) {
  FeatureProbe f;
  for (const auto& st : f.report()) EXPECT_FALSE(st.detail.empty()) << st.name;
}

}  // namespace
}  // namespace antiphase::agent
