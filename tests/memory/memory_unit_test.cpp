// Memory figures without a kernel: file parsing, the v1/v2 layout choice, the reader
// over fixture trees laid out like both hierarchies, and how the tracker sums instances.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/memory/meminfo.h"
#include "agent/memory/memory_files.h"
#include "agent/memory/memory_layout.h"
#include "agent/memory/memory_reader.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/usage/usage_tracker.h"

namespace antiphase::agent {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1024 * 1024;
const char* kPattern = R"(^fn-(.+?)(-[0-9]+)?\.scope$)";

void write(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
}

TEST(MemoryFiles, ParsesBytesAndLimits) {
  EXPECT_EQ(parse_memory_bytes("123456\n"), 123456u);
  EXPECT_EQ(parse_memory_bytes("0"), 0u);
  EXPECT_FALSE(parse_memory_bytes("").has_value());
  EXPECT_FALSE(parse_memory_bytes("12k\n").has_value());
  EXPECT_FALSE(parse_memory_bytes("-5\n").has_value());
  EXPECT_EQ(parse_memory_limit("268435456\n"), 256 * kMiB);
  EXPECT_FALSE(parse_memory_limit("max\n").has_value()) << "v2: no limit";
  EXPECT_FALSE(parse_memory_limit("9223372036854771712\n").has_value()) << "v1: PAGE_COUNTER_MAX pages = no limit";
}

TEST(MemoryLayout, ChoosesV2WhenTheUnifiedRootHasMemoryElseV1ElseNone) {
  const auto v2 = choose_memory_layout("/sys/fs/cgroup", "cpuset cpu io memory hugetlb pids\n", std::nullopt);
  EXPECT_EQ(v2.hierarchy, MemoryHierarchy::V2);
  EXPECT_EQ(v2.memory_dir("/sys/fs/cgroup/a.slice/fn-x.scope"), "/sys/fs/cgroup/a.slice/fn-x.scope");

  const auto hybrid = choose_memory_layout("/sys/fs/cgroup/unified", "\n", std::string("/sys/fs/cgroup/memory"));
  EXPECT_EQ(hybrid.hierarchy, MemoryHierarchy::V1);
  EXPECT_EQ(hybrid.memory_dir("/sys/fs/cgroup/unified/a.slice/fn-x.scope"), "/sys/fs/cgroup/memory/a.slice/fn-x.scope");
  EXPECT_EQ(hybrid.memory_dir("/sys/fs/cgroup/unifiedX/fn-x.scope"), "") << "not below the mount";
  EXPECT_NE(hybrid.reason.find("/sys/fs/cgroup/memory"), std::string::npos) << hybrid.reason;

  const auto none = choose_memory_layout("/sys/fs/cgroup/unified", "cpu pids", std::nullopt);
  EXPECT_EQ(none.hierarchy, MemoryHierarchy::None);
  EXPECT_EQ(none.memory_dir("/sys/fs/cgroup/unified/fn-x.scope"), "");
  EXPECT_NE(none.reason.find("no memory controller"), std::string::npos) << none.reason;
}

TEST(MemoryLayout, FindsTheV1MemoryMountFromMountinfo) {
  const std::string hybrid =
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(find_cgroup1_mount_in(hybrid, "memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(find_cgroup1_mount_in(hybrid, "cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_FALSE(find_cgroup1_mount_in(hybrid, "mem").has_value()) << "whole option names only";
  EXPECT_EQ(find_cgroup2_mount_in(hybrid), "/sys/fs/cgroup/unified");
  const std::string joint = "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
  EXPECT_EQ(find_cgroup1_mount_in(joint, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_FALSE(find_cgroup1_mount_in("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "memory").has_value());
}

TEST(Meminfo, ParsesTotalAndAvailableInBytes) {
  const auto m = parse_meminfo("MemTotal:       24598104 kB\nMemFree:        20000000 kB\nMemAvailable:   22000000 kB\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total_bytes, 24598104ull * 1024);
  EXPECT_EQ(m->available_bytes, 22000000ull * 1024);
  EXPECT_FALSE(parse_meminfo("MemTotal: 1 kB\n").has_value()) << "MemAvailable missing";
  EXPECT_FALSE(parse_meminfo("MemTotal: x kB\nMemAvailable: 1 kB\n").has_value());
}

TEST(Meminfo, ReadsThisHost) {
  const auto m = read_meminfo();
  ASSERT_TRUE(m);
  EXPECT_GT(m->total_bytes, 64 * kMiB);
  EXPECT_LE(m->available_bytes, m->total_bytes);
}

// A fixture tree: <root>/unified holds the function cgroups; memory files live either
// in the same directories (v2) or in a mirror tree <root>/memory (v1).
class MemoryTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("antiphase-memory-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    for (const char* cg : {"fn-a-1.scope", "fn-a-2.scope", "fn-b.scope"}) {
      fs::create_directories(root_ / "unified" / cg);
      fs::create_directories(root_ / "memory" / cg);
    }
    registry_ = std::make_unique<CgroupRegistry>(RegistryOptions{(root_ / "unified").string(), {""}, kPattern, 1});
  }
  void TearDown() override { fs::remove_all(root_); }

  MemoryLayout v2() const { return choose_memory_layout((root_ / "unified").string(), "memory", std::nullopt); }
  MemoryLayout v1() const {
    return choose_memory_layout((root_ / "unified").string(), "", (root_ / "memory").string());
  }
  // Writes an instance's files named for the hierarchy; an empty peak leaves that file out.
  void set(MemoryHierarchy h, const std::string& cg, uint64_t current, std::optional<uint64_t> peak,
           const std::string& limit) {
    const bool v1 = h == MemoryHierarchy::V1;
    const fs::path dir = root_ / (v1 ? "memory" : "unified") / cg;
    write(dir / (v1 ? "memory.usage_in_bytes" : "memory.current"), std::to_string(current) + "\n");
    if (peak) write(dir / (v1 ? "memory.max_usage_in_bytes" : "memory.peak"), std::to_string(*peak) + "\n");
    write(dir / (v1 ? "memory.limit_in_bytes" : "memory.max"), limit + "\n");
  }
  // One tick: registry → reader → tracker, as the daemon does it.
  const std::map<std::string, FunctionUsage>& tick(MemoryReader& reader) {
    reader.set_functions(registry_->functions());
    tracker_.apply({0, {}}, 0, *registry_);
    tracker_.apply_memory(reader.read());
    return tracker_.functions();
  }

  fs::path root_;
  std::unique_ptr<CgroupRegistry> registry_;
  UsageTracker tracker_{10};
};

TEST_F(MemoryTree, V2SumsInstancesOfAFunction) {
  set(MemoryHierarchy::V2, "fn-a-1.scope", 100 * kMiB, 150 * kMiB, std::to_string(256 * kMiB));
  set(MemoryHierarchy::V2, "fn-a-2.scope", 40 * kMiB, 90 * kMiB, std::to_string(128 * kMiB));
  set(MemoryHierarchy::V2, "fn-b.scope", 5 * kMiB, 6 * kMiB, "max");
  MemoryReader reader(v2());
  const auto& fns = tick(reader);
  ASSERT_TRUE(fns.at("a").memory);
  const FunctionMemory& a = *fns.at("a").memory;
  EXPECT_EQ(a.current_bytes, 140 * kMiB);
  EXPECT_EQ(a.peak_bytes, 240 * kMiB);
  EXPECT_EQ(a.instance_peak_bytes, 150 * kMiB);
  EXPECT_EQ(a.limit_bytes, 384 * kMiB);
  EXPECT_EQ(a.measured_instances, 2u);
  EXPECT_TRUE(a.peak_from_kernel);
  const FunctionMemory& b = *fns.at("b").memory;
  EXPECT_EQ(b.current_bytes, 5 * kMiB);
  EXPECT_FALSE(b.limit_bytes.has_value()) << "\"max\" is no limit";
}

TEST_F(MemoryTree, V1ReadsTheMirrorTreeAtTheSamePath) {
  set(MemoryHierarchy::V1, "fn-a-1.scope", 10 * kMiB, 30 * kMiB, "9223372036854771712");
  set(MemoryHierarchy::V1, "fn-a-2.scope", 20 * kMiB, 25 * kMiB, std::to_string(64 * kMiB));
  set(MemoryHierarchy::V1, "fn-b.scope", 7 * kMiB, 8 * kMiB, std::to_string(16 * kMiB));
  MemoryReader reader(v1());
  const auto& fns = tick(reader);
  EXPECT_EQ(reader.measurable_instances(), 3u);
  const FunctionMemory& a = *fns.at("a").memory;
  EXPECT_EQ(a.current_bytes, 30 * kMiB);
  EXPECT_EQ(a.peak_bytes, 55 * kMiB);
  EXPECT_FALSE(a.limit_bytes.has_value()) << "one instance without a limit: the function has none";
  EXPECT_EQ(fns.at("b").memory->limit_bytes, 16 * kMiB);
}

TEST_F(MemoryTree, WithoutAKernelPeakThePeakIsTheHighestUsageSeen) {
  set(MemoryHierarchy::V2, "fn-b.scope", 80 * kMiB, std::nullopt, "max");
  MemoryReader reader(v2());
  tick(reader);
  set(MemoryHierarchy::V2, "fn-b.scope", 30 * kMiB, std::nullopt, "max");  // the same open file, new content
  const FunctionMemory& b = *tick(reader).at("b").memory;
  EXPECT_EQ(b.current_bytes, 30 * kMiB);
  EXPECT_EQ(b.peak_bytes, 80 * kMiB);
  EXPECT_FALSE(b.peak_from_kernel);
}

TEST_F(MemoryTree, WithAKernelPeakFiguresRefreshAtRescansWithoutOneUsageIsReadEveryTick) {
  set(MemoryHierarchy::V2, "fn-a-1.scope", 40 * kMiB, 50 * kMiB, "max");  // the kernel keeps its peak
  set(MemoryHierarchy::V2, "fn-b.scope", 40 * kMiB, std::nullopt, "max");  // no memory.peak (Linux < 5.19)
  MemoryReader reader(v2());
  tick(reader);
  EXPECT_EQ(reader.per_tick_instances(), 1u);
  set(MemoryHierarchy::V2, "fn-a-1.scope", 70 * kMiB, 75 * kMiB, std::to_string(64 * kMiB));
  set(MemoryHierarchy::V2, "fn-b.scope", 70 * kMiB, std::nullopt, "max");
  tracker_.apply_memory(reader.read());  // a tick without a rescan
  const auto& between = tracker_.functions();
  EXPECT_EQ(between.at("a").memory->current_bytes, 40 * kMiB) << "refreshes at the next rescan";
  EXPECT_FALSE(between.at("a").memory->limit_bytes.has_value());
  EXPECT_EQ(between.at("b").memory->current_bytes, 70 * kMiB) << "no kernel peak: read every tick";
  EXPECT_EQ(between.at("b").memory->peak_bytes, 70 * kMiB);
  set(MemoryHierarchy::V2, "fn-b.scope", 20 * kMiB, std::nullopt, "max");
  const auto& after = tick(reader);
  EXPECT_EQ(after.at("a").memory->current_bytes, 70 * kMiB);
  EXPECT_EQ(after.at("a").memory->peak_bytes, 75 * kMiB);
  EXPECT_EQ(after.at("a").memory->limit_bytes, 64 * kMiB);
  EXPECT_EQ(after.at("b").memory->peak_bytes, 70 * kMiB) << "the highest usage read is b's peak";
}

TEST_F(MemoryTree, UnmeasurableFunctionsHaveNoMemoryAndAreRetriedAtRescan) {
  set(MemoryHierarchy::V1, "fn-a-1.scope", 10 * kMiB, 10 * kMiB, "max");
  fs::remove_all(root_ / "memory" / "fn-b.scope");  // e.g. the v1 cgroup is created a moment later
  MemoryReader reader(v1());
  const auto& fns = tick(reader);
  EXPECT_FALSE(fns.at("b").memory.has_value());
  EXPECT_EQ(fns.at("a").memory->measured_instances, 1u) << "fn-a-2 has no usage file";
  fs::create_directories(root_ / "memory" / "fn-b.scope");
  set(MemoryHierarchy::V1, "fn-b.scope", 3 * kMiB, 4 * kMiB, "max");
  EXPECT_EQ(tick(reader).at("b").memory->current_bytes, 3 * kMiB);
}

TEST_F(MemoryTree, AVanishedInstanceStopsCounting) {
  set(MemoryHierarchy::V2, "fn-a-1.scope", 10 * kMiB, 12 * kMiB, "max");
  set(MemoryHierarchy::V2, "fn-a-2.scope", 20 * kMiB, 22 * kMiB, "max");
  MemoryReader reader(v2());
  EXPECT_EQ(tick(reader).at("a").memory->peak_bytes, 34 * kMiB);
  fs::remove_all(root_ / "unified" / "fn-a-2.scope");
  registry_->rescan();
  const FunctionMemory& a = *tick(reader).at("a").memory;
  EXPECT_EQ(a.current_bytes, 10 * kMiB);
  EXPECT_EQ(a.peak_bytes, 12 * kMiB);
  EXPECT_EQ(reader.instances(), 2u);
}

TEST_F(MemoryTree, NoControllerMeansNoMemory) {
  set(MemoryHierarchy::V2, "fn-b.scope", 1 * kMiB, 1 * kMiB, "max");
  MemoryReader reader(choose_memory_layout((root_ / "unified").string(), "cpu", std::nullopt));
  EXPECT_FALSE(tick(reader).at("b").memory.has_value());
  EXPECT_EQ(reader.measurable_instances(), 0u);
}

}  // namespace
}  // namespace antiphase::agent
