// Cgroups coming and going under a running BPF sampler.
#include <gtest/gtest.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "agent/features/feature_probe.h"
#include "agent/sampler/bpf_samplers.h"
#include "agent/sampler/cgroup_stat_sampler.h"
#include "tests/bpf/cgroup_fixture.h"

namespace antiphase::testing {
namespace {

using agent::BpfSchedSwitchSampler;
using agent::WatchedCgroup;

class SamplerLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root()) GTEST_SKIP() << "needs root (creates cgroups, loads BPF)";
    mount_ = cgroup2_mount();
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount";
    if (!features_.has("raw_tp") && !features_.has("tp_btf")) GTEST_SKIP() << "no sched_switch attach point";
  }
  BpfSchedSwitchSampler::Attach best_attach() {
    return features_.has("tp_btf") ? BpfSchedSwitchSampler::Attach::TpBtf : BpfSchedSwitchSampler::Attach::RawTp;
  }
  std::string mount_;
  agent::FeatureProbe features_;
};

TEST_F(SamplerLifecycle, RemovedCgroupDisappearsAndItsSlotIsReusedFromZero) {
  // Two slots only, so the third cgroup must reuse the removed one's slot.
  BpfSchedSwitchSampler sampler(best_attach(), 2);
  ScopedCgroup root(mount_, unique_cgroup_name("antiphase-test"));
  ScopedCgroup keep(root.path(), "keep");
  auto doomed = std::make_unique<ScopedCgroup>(root.path(), "doomed");
  const uint64_t doomed_id = doomed->id();

  {
    Burner burner(*doomed, BurnPattern::Full);
    Burner keeper(keep, BurnPattern::DutyCycled);
    sampler.set_watched({{keep.id(), keep.path(), true}, {doomed_id, doomed->path(), true}});
    sleep_for_ms(700);
    const auto snap = sampler.read();
    ASSERT_EQ(snap.cpu_ns.count(doomed_id), 1u);
    // Lenient: the shared build host may give the busy loop only a fraction of a CPU.
    EXPECT_GT(snap.cpu_ns.at(doomed_id), 50000000ULL) << "0.7 s of a busy loop should be > 0.05 s";
  }
  const uint64_t keep_before = sampler.read().cpu_ns.at(keep.id());
  doomed.reset();  // rmdir: the cgroup is gone

  ScopedCgroup fresh(root.path(), "fresh");
  ASSERT_NO_THROW(sampler.set_watched({{keep.id(), keep.path(), true}, {fresh.id(), fresh.path(), true}}));
  const auto after = sampler.read();
  EXPECT_EQ(after.cpu_ns.count(doomed_id), 0u);
  ASSERT_EQ(after.cpu_ns.count(fresh.id()), 1u);
  // The fresh cgroup has no tasks: its reused slot starts from a baseline, so it reads
  // zero rather than the removed cgroup's 0.05+ s.
  EXPECT_EQ(after.cpu_ns.at(fresh.id()), 0u);
  EXPECT_GE(after.cpu_ns.at(keep.id()), keep_before) << "counters never go backwards";
  EXPECT_EQ(sampler.stats().at("watched_cgroups"), "2");
}

TEST_F(SamplerLifecycle, UnwatchedThenRewatchedCgroupContinuesFromItsLastValue) {
  BpfSchedSwitchSampler sampler(best_attach(), 4);
  ScopedCgroup root(mount_, unique_cgroup_name("antiphase-test"));
  ScopedCgroup busy(root.path(), "busy");
  Burner burner(busy, BurnPattern::Full);
  const std::vector<WatchedCgroup> watched{{busy.id(), busy.path(), true}};
  sampler.set_watched(watched);
  sleep_for_ms(200);
  const uint64_t before = sampler.read().cpu_ns.at(busy.id());
  ASSERT_GT(before, 0u);
  sampler.set_watched({});
  EXPECT_EQ(sampler.read().cpu_ns.count(busy.id()), 0u);
  sampler.set_watched(watched);
  EXPECT_GE(sampler.read().cpu_ns.at(busy.id()), before) << "never restarts from zero";
}

// Counters are read in batches of 256 slots; a cgroup in the third batch must still be
// read from the map (not only through the read-time running slice).
TEST_F(SamplerLifecycle, BatchedReadsCoverSlotsBeyondTheFirstChunks) {
  BpfSchedSwitchSampler sampler(best_attach(), 1024);
  ScopedCgroup root(mount_, unique_cgroup_name("antiphase-test"));
  ScopedCgroup busy(root.path(), "busy");
  Burner burner(busy, BurnPattern::DutyCycled);  // switches often: its time lands in the map
  std::vector<WatchedCgroup> watched;
  for (uint64_t i = 0; i < 700; ++i) watched.push_back({0xFFFF000000000000ULL + i, "", true});
  watched.push_back({busy.id(), busy.path(), true});  // slot 701
  sampler.set_watched(watched);
  const uint64_t s0 = sampler.read().cpu_ns.at(busy.id()), c0 = busy.usage_ns();
  sleep_for_ms(500);
  const uint64_t s1 = sampler.read().cpu_ns.at(busy.id()), c1 = busy.usage_ns();
  ASSERT_GT(c1 - c0, 20000000ULL) << "burner barely ran";
  EXPECT_NEAR(static_cast<double>(s1 - s0), static_cast<double>(c1 - c0), 0.05 * static_cast<double>(c1 - c0));
}

TEST_F(SamplerLifecycle, TableFullRejectsExtraCgroupsWithoutFailing) {
  BpfSchedSwitchSampler sampler(best_attach(), 1);
  ScopedCgroup root(mount_, unique_cgroup_name("antiphase-test"));
  ScopedCgroup a(root.path(), "a");
  ScopedCgroup b(root.path(), "b");
  ASSERT_NO_THROW(sampler.set_watched({{a.id(), a.path(), true}, {b.id(), b.path(), true}}));
  const auto snap = sampler.read();
  EXPECT_EQ(snap.cpu_ns.size(), 1u);
  EXPECT_EQ(sampler.stats().at("rejected_cgroups"), "1");
}

// Makes the burner a SCHED_FIFO task pinned to CPU 0: it then runs without switches.
bool pin_fifo_on_cpu0(pid_t pid) {
  cpu_set_t one_cpu;
  CPU_ZERO(&one_cpu);
  CPU_SET(0, &one_cpu);
  sched_param fifo{};
  fifo.sched_priority = 1;
  return ::sched_setaffinity(pid, sizeof(one_cpu), &one_cpu) == 0 &&
         ::sched_setscheduler(pid, SCHED_FIFO, &fifo) == 0;
}

// A busy loop alone on its CPU is not switched out for seconds, so the sched_switch
// counters alone would show nothing; the sampler must add the running slice at read
// time. SCHED_FIFO on one pinned CPU guarantees no switch during the short window
// (RT throttling only steps in after 950 ms). raw_tp does not record the cgroup at
// switch-in, so it exercises the /proc/<tid>/cgroup lookup as well.
void expect_running_slice_counted(const std::string& mount, BpfSchedSwitchSampler::Attach attach) {
  BpfSchedSwitchSampler sampler(attach, 8);
  ScopedCgroup root(mount, unique_cgroup_name("antiphase-test"));
  ScopedCgroup hog(root.path(), "hog");
  Burner burner(hog, BurnPattern::Full);
  if (!pin_fifo_on_cpu0(burner.pid())) GTEST_SKIP() << "cannot make the burner SCHED_FIFO: " << std::strerror(errno);
  sampler.set_watched({{hog.id(), hog.path(), true}});
  sleep_for_ms(50);  // the burner is now on CPU 0 and will stay there
  const uint64_t s0 = sampler.read().cpu_ns.at(hog.id()), c0 = hog.usage_ns();
  sleep_for_ms(400);
  const uint64_t s1 = sampler.read().cpu_ns.at(hog.id()), c1 = hog.usage_ns();
  burner.stop();
  const double sampled = static_cast<double>(s1 - s0), reference = static_cast<double>(c1 - c0);
  std::printf("running slice: sampler %.1f ms, cpu.stat %.1f ms (s0 %.1f s1 %.1f c0 %.1f c1 %.1f ms, retries %s)\n",
              sampled / 1e6, reference / 1e6, s0 / 1e6, s1 / 1e6, c0 / 1e6, c1 / 1e6,
              sampler.stats().at("torn_read_retries").c_str());
  EXPECT_GT(reference, 300e6) << "the FIFO burner should have had CPU 0 to itself";
  // Both lag by at most one scheduler tick (<= 4 ms at HZ=250) at each end.
  EXPECT_NEAR(sampled, reference, 0.03 * reference);
}

// fork-move-exec style: a task moved into a function cgroup while it runs must be
// credited there, for the read-time slice and for the slice charged at its switch-out.
void expect_moved_task_credited_to_new_cgroup(const std::string& mount, BpfSchedSwitchSampler::Attach attach) {
  BpfSchedSwitchSampler sampler(attach, 8);
  ScopedCgroup root(mount, unique_cgroup_name("antiphase-test"));
  ScopedCgroup from(root.path(), "from");
  ScopedCgroup to(root.path(), "to");
  Burner burner(from, BurnPattern::Full);
  if (!pin_fifo_on_cpu0(burner.pid())) GTEST_SKIP() << "cannot make the burner SCHED_FIFO: " << std::strerror(errno);
  sampler.set_watched({{from.id(), from.path(), true}, {to.id(), to.path(), true}});
  sleep_for_ms(100);
  to.add_process(burner.pid());  // no context switch: it keeps running on CPU 0
  const uint64_t s0 = sampler.read().cpu_ns.at(to.id()), c0 = to.usage_ns();
  sleep_for_ms(300);
  const uint64_t s1 = sampler.read().cpu_ns.at(to.id()), c1 = to.usage_ns();
  burner.stop();  // exit: its last slice is charged at this switch-out
  sleep_for_ms(20);
  const uint64_t s2 = sampler.read().cpu_ns.at(to.id()), c2 = to.usage_ns();
  std::printf("moved task: read-time %.1f ms vs cpu.stat %.1f ms; after exit %.1f vs %.1f ms\n", (s1 - s0) / 1e6,
              (c1 - c0) / 1e6, (s2 - s0) / 1e6, (c2 - c0) / 1e6);
  ASSERT_GT(c1 - c0, 200000000ULL) << "burner should have had CPU 0";
  EXPECT_NEAR(static_cast<double>(s1 - s0), static_cast<double>(c1 - c0), 0.03 * static_cast<double>(c1 - c0));
  EXPECT_NEAR(static_cast<double>(s2 - s0), static_cast<double>(c2 - c0), 0.03 * static_cast<double>(c2 - c0));
}

TEST_F(SamplerLifecycle, TaskMovedWhileRunningIsCreditedToItsNewCgroupTpBtf) {
  if (!features_.has("tp_btf")) GTEST_SKIP() << "kernel lacks tp_btf";
  expect_moved_task_credited_to_new_cgroup(mount_, BpfSchedSwitchSampler::Attach::TpBtf);
}

TEST_F(SamplerLifecycle, TaskMovedWhileRunningIsCreditedToItsNewCgroupRawTp) {
  if (!features_.has("raw_tp")) GTEST_SKIP() << "kernel lacks raw_tp";
  expect_moved_task_credited_to_new_cgroup(mount_, BpfSchedSwitchSampler::Attach::RawTp);
}

TEST_F(SamplerLifecycle, RunningSliceIsCountedBeforeItsSwitchTpBtf) {
  if (!features_.has("tp_btf")) GTEST_SKIP() << "kernel lacks tp_btf";
  expect_running_slice_counted(mount_, BpfSchedSwitchSampler::Attach::TpBtf);
}

TEST_F(SamplerLifecycle, RunningSliceIsCountedBeforeItsSwitchRawTp) {
  if (!features_.has("raw_tp")) GTEST_SKIP() << "kernel lacks raw_tp";
  expect_running_slice_counted(mount_, BpfSchedSwitchSampler::Attach::RawTp);
}

size_t open_descriptors() {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// Every sampler owns its skeleton, links and perf event descriptors: building and
// destroying them leaves nothing open (one perf event per CPU would be easy to leak).
TEST_F(SamplerLifecycle, SamplersReleaseEveryDescriptorWhenDestroyed) {
  const size_t before = open_descriptors();
  for (int round = 0; round < 3; ++round) {
    {
      BpfSchedSwitchSampler sampler(best_attach(), 8);
      sampler.read();
      EXPECT_GT(open_descriptors(), before);
    }
    if (features_.has("perf_event")) {
      agent::BpfPerfSampler sampler(49, 8);
      sampler.read();
      EXPECT_GT(open_descriptors(), before + 1) << "maps, program and one event per CPU";
    }
  }
  EXPECT_EQ(open_descriptors(), before);
}

TEST_F(SamplerLifecycle, CountersAreMonotonicAcrossReads) {
  BpfSchedSwitchSampler sampler(best_attach(), 8);
  ScopedCgroup root(mount_, unique_cgroup_name("antiphase-test"));
  ScopedCgroup busy(root.path(), "busy");
  Burner burner(busy, BurnPattern::DutyCycled);
  sampler.set_watched({{busy.id(), busy.path(), true}});
  uint64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    const auto snap = sampler.read();
    const uint64_t v = snap.cpu_ns.at(busy.id());
    ASSERT_GE(v, last) << "read " << i;
    last = v;
    sleep_for_ms(2);
  }
  EXPECT_GT(last, 0u);
}

}  // namespace
}  // namespace antiphase::testing

namespace antiphase::testing {
namespace {

// The cgroup sampler keeps each cpu.stat open across ticks; a removed cgroup's open file
// stops reading (counted, not fatal) before the registry's next rescan drops it, and a
// rescan keeps the files of cgroups still watched.
TEST(CgroupSamplerLifecycle, OpenFilesFollowRemovedAndKeptCgroups) {
  if (!running_as_root()) GTEST_SKIP() << "needs root (creates cgroups)";
  const std::string mount = cgroup2_mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  agent::CgroupStatSampler sampler;
  ScopedCgroup root(mount, unique_cgroup_name("antiphase-test"));
  ScopedCgroup keep(root.path(), "keep");
  auto doomed = std::make_unique<ScopedCgroup>(root.path(), "doomed");
  const uint64_t doomed_id = doomed->id();
  sampler.set_watched({{keep.id(), keep.path(), true}, {doomed_id, doomed->path(), true}});
  {
    Burner burner(keep, BurnPattern::Full);
    sleep_for_ms(300);
  }
  const auto first = sampler.read();
  ASSERT_EQ(first.cpu_ns.size(), 2u);
  EXPECT_EQ(first.cpu_ns.at(keep.id()), keep.usage_ns()) << "same source, nothing running any more";

  doomed.reset();  // rmdir, while the sampler still holds its cpu.stat open
  const auto after_removal = sampler.read();
  EXPECT_EQ(after_removal.cpu_ns.count(doomed_id), 0u);
  EXPECT_EQ(after_removal.cpu_ns.at(keep.id()), keep.usage_ns());
  EXPECT_EQ(sampler.stats().at("unreadable_reads"), "1");
  EXPECT_EQ(sampler.read_errors(), 0u) << "a removed cgroup is churn, not a sampler error";

  sampler.set_watched({{keep.id(), keep.path(), true}});  // the rescan
  EXPECT_EQ(sampler.read().cpu_ns.size(), 1u);
  EXPECT_EQ(sampler.stats().at("unreadable_reads"), "1") << "a dropped cgroup is not read again";
}

}  // namespace
}  // namespace antiphase::testing
