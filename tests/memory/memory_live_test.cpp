// Real memory hogs in real cgroups: the agent's per-function figures (reader + tracker,
// as the daemon runs them) against the kernel's own files, for whichever memory
// hierarchy this host has. Needs root; each layout test skips, saying why, on a host
// without that layout (a controller lives in one hierarchy only).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "agent/memory/memory_files.h"
#include "agent/memory/memory_layout.h"
#include "agent/memory/memory_reader.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/usage/usage_tracker.h"
#include "tests/bpf/cgroup_fixture.h"
#include "tests/memory/memory_hog.h"

namespace antiphase::agent {
namespace {

using testing::KernelFigures;
using testing::LiveHogs;
using testing::MemoryHog;
constexpr uint64_t kMiB = 1024 * 1024;

void expect_within(double measured, double kernel, double fraction, const char* what) {
  EXPECT_LE(std::abs(measured - kernel), fraction * kernel)
      << what << ": agent " << measured / kMiB << " MiB, kernel " << kernel / kMiB << " MiB";
}

// Hog 1 peaks at 96 MiB and settles at 24 MiB; hog 2 holds 48 MiB. The agent's sums
// must be within 5 % of the kernel's files, and the kernel's must show the hogs.
void check_layout(MemoryHierarchy wanted) {
  if (!testing::running_as_root()) GTEST_SKIP() << "needs root to create cgroups";
  const std::string mount = testing::cgroup2_mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  const MemoryLayout layout = detect_memory_layout(mount);
  if (layout.hierarchy != wanted)
    GTEST_SKIP() << "this host's memory layout is " << to_string(layout.hierarchy) << " (" << layout.reason << ")";
  std::optional<LiveHogs> hogs;
  try {
    hogs.emplace(layout);
  } catch (const std::exception& e) {
    if (wanted == MemoryHierarchy::V2) GTEST_SKIP() << "cannot enable the memory controller below the root: " << e.what();
    throw;
  }
  hogs->set_limit(1, 256 * kMiB);
  MemoryHog hog1(hogs->dirs(0), 96, 24), hog2(hogs->dirs(1), 48, 48);

  CgroupRegistry registry({mount, {hogs->root()}, R"(^fn-(.+?)(-[0-9]+)?\.scope$)", 1});
  MemoryReader reader(layout);
  UsageTracker tracker(10);
  reader.set_functions(registry.functions());
  tracker.apply({0, {}}, 0, registry);
  tracker.apply_memory(reader.read());
  const KernelFigures k1 = hogs->kernel(0), k2 = hogs->kernel(1);

  ASSERT_EQ(tracker.functions().count("hog"), 1u);
  ASSERT_TRUE(tracker.functions().at("hog").memory) << "no memory measured via " << layout.reason;
  const FunctionMemory& m = *tracker.functions().at("hog").memory;
  std::printf("%s: agent current %.2f MiB peak %.2f MiB; kernel current %.2f MiB peak %.2f MiB\n", to_string(wanted),
              double(m.current_bytes) / kMiB, double(m.peak_bytes) / kMiB, double(k1.current + k2.current) / kMiB,
              double(k1.peak + k2.peak) / kMiB);
  EXPECT_EQ(m.measured_instances, 2u);
  EXPECT_TRUE(m.peak_from_kernel);
  expect_within(m.current_bytes, k1.current + k2.current, 0.05, "current");
  expect_within(m.peak_bytes, k1.peak + k2.peak, 0.05, "peak");
  expect_within(m.instance_peak_bytes, std::max(k1.peak, k2.peak), 0.05, "largest instance peak");
  // The kernel saw what the hogs did: 96 + 48 MiB at the peaks, 24 + 48 MiB now.
  EXPECT_GE(k1.peak + k2.peak, 144 * kMiB);
  EXPECT_LE(k1.peak + k2.peak, 160 * kMiB);
  EXPECT_GE(k1.current + k2.current, 72 * kMiB);
  EXPECT_LE(k1.current + k2.current, 88 * kMiB);
  EXPECT_FALSE(m.limit_bytes.has_value()) << "instance 1 has no limit";

  hogs->set_limit(0, 512 * kMiB);
  reader.set_functions(registry.functions());  // limits are re-read at each rescan
  tracker.apply_memory(reader.read());
  EXPECT_EQ(tracker.functions().at("hog").memory->limit_bytes, 768 * kMiB);
}

TEST(MemoryLive, HybridHostV1HogsMatchTheKernelsFiles) { check_layout(MemoryHierarchy::V1); }
TEST(MemoryLive, CgroupV2HogsMatchTheKernelsFiles) { check_layout(MemoryHierarchy::V2); }

}  // namespace
}  // namespace antiphase::agent
