// Registry mapping on a fixture tree of plain directories (the registry only walks
// directories and stats them, so no cgroupfs is needed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/registry/cgroup_fs.h"
#include "agent/registry/registry.h"

using namespace antiphase::agent;
namespace fs = std::filesystem;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("antiphase-registry-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void mk(const std::string& rel) { fs::create_directories(root_ / rel); }
  CgroupRegistry make(std::vector<std::string> roots, uint32_t depth,
                      std::string pattern = R"(^fn-(.+?)(-[0-9]+)?\.scope$)") {
    return CgroupRegistry({root_.string(), std::move(roots), std::move(pattern), depth});
  }
  uint64_t id(const std::string& rel) { return *cgroup_id_of((root_ / rel).string()); }
  fs::path root_;
};

TEST_F(RegistryTest, InstancesOfOneFunctionAreGroupedAndNestedCgroupsRollUp) {
  mk("system.slice/fn-resize-1.scope/worker");
  mk("system.slice/fn-resize-2.scope");
  mk("system.slice/fn-thumb.scope");
  mk("system.slice/sshd.service");
  auto reg = make({"system.slice"}, 1);
  ASSERT_EQ(reg.functions().size(), 2u);
  const auto& resize = reg.functions().at("resize");
  EXPECT_EQ(resize.instance_paths.size(), 2u);
  EXPECT_EQ(resize.cgroup_ids.size(), 3u);  // two instances + the nested worker
  ASSERT_NE(reg.function_of(id("system.slice/fn-resize-1.scope/worker")), nullptr);
  EXPECT_EQ(*reg.function_of(id("system.slice/fn-resize-1.scope/worker")), "resize");
  EXPECT_EQ(reg.function_of(id("system.slice/sshd.service")), nullptr);
  EXPECT_EQ(reg.watched().size(), 4u);
  size_t roots = 0;
  for (const auto& w : reg.watched()) roots += w.function_root;
  EXPECT_EQ(roots, 3u);
}

TEST_F(RegistryTest, DepthSelectsWhereFunctionsLive) {
  mk("kubepods/pod-a/fn-x.scope");
  mk("kubepods/fn-y.scope");
  EXPECT_EQ(make({"kubepods"}, 1).functions().count("y"), 1u);
  EXPECT_EQ(make({"kubepods"}, 1).functions().count("x"), 0u);
  EXPECT_EQ(make({"kubepods"}, 2).functions().count("x"), 1u);
  EXPECT_EQ(make({"kubepods"}, 2).functions().count("y"), 0u);
  // depth 0: outermost match anywhere.
  const auto any = make({""}, 0);
  EXPECT_EQ(any.functions().count("x"), 1u);
  EXPECT_EQ(any.functions().count("y"), 1u);
}

TEST_F(RegistryTest, OutermostMatchOwnsMatchingDescendants) {
  mk("fn-outer.scope/fn-inner.scope");
  const auto reg = make({""}, 0);
  EXPECT_EQ(reg.functions().size(), 1u);
  EXPECT_EQ(reg.functions().at("outer").cgroup_ids.size(), 2u);
}

TEST_F(RegistryTest, CustomPatternCapturesTheName) {
  mk("docker/ctr-api-7f3a");
  mk("docker/ctr-db-11aa");
  const auto reg = make({"docker"}, 1, R"(^ctr-([a-z]+)-[0-9a-f]+$)");
  EXPECT_EQ(reg.functions().count("api"), 1u);
  EXPECT_EQ(reg.functions().count("db"), 1u);
}

TEST_F(RegistryTest, AppearingAndVanishingCgroupsArePickedUpByRescan) {
  mk("s/fn-a.scope");
  auto reg = make({"s"}, 1);
  EXPECT_EQ(reg.functions().size(), 1u);
  EXPECT_FALSE(reg.rescan());
  mk("s/fn-b.scope");
  EXPECT_TRUE(reg.rescan());
  EXPECT_EQ(reg.functions().size(), 2u);
  fs::remove(root_ / "s/fn-a.scope");
  EXPECT_TRUE(reg.rescan());
  EXPECT_EQ(reg.functions().size(), 1u);
  EXPECT_EQ(reg.functions().count("b"), 1u);
}

// systemd creates fn.slice only when the first scope starts, and a scheduler asks the
// agent before that: a missing root is watched, not fatal.
TEST_F(RegistryTest, MissingRootIsReportedAndWalkedOnceItAppears) {
  auto reg = make({"fn.slice", "other"}, 1);
  mk("other/fn-b.scope");
  ASSERT_EQ(reg.missing_roots().size(), 2u);
  EXPECT_EQ(reg.missing_roots()[0], (root_ / "fn.slice").string());
  EXPECT_TRUE(reg.functions().empty());
  EXPECT_TRUE(reg.rescan());
  EXPECT_EQ(reg.missing_roots(), std::vector<std::string>{(root_ / "fn.slice").string()});
  mk("fn.slice/fn-a-1.scope");
  EXPECT_TRUE(reg.rescan());
  EXPECT_TRUE(reg.missing_roots().empty());
  EXPECT_EQ(reg.functions().count("a"), 1u);
  EXPECT_EQ(reg.functions().count("b"), 1u);
  fs::remove_all(root_ / "fn.slice");
  EXPECT_TRUE(reg.rescan());
  EXPECT_EQ(reg.missing_roots().size(), 1u);
  EXPECT_EQ(reg.functions().count("a"), 0u);
}

// systemd nests a slice at every "-": fn-image-resize.slice would be
// fn.slice/fn-image.slice/fn-image-resize.slice. Escaped as systemd-escape does it,
// the slice stays one level and the function keeps its dash.
TEST_F(RegistryTest, SystemdEscapesInTheCapturedNameAreDecoded) {
  mk("fn.slice/fn-image\\x2dresize.slice/docker-1.scope");
  const auto reg = make({"fn.slice"}, 1, R"(^fn-(.+)\.slice$)");
  ASSERT_EQ(reg.functions().size(), 1u);
  EXPECT_EQ(reg.functions().begin()->first, "image-resize");
  EXPECT_EQ(unescape_systemd_name("a\\x2db\\x2"), "a-b\\x2") << "a truncated escape stays as it is";
  EXPECT_EQ(unescape_systemd_name("pod1_2"), "pod1_2");
}

TEST_F(RegistryTest, PatternWithoutCaptureGroupIsRejected) {
  EXPECT_THROW(make({""}, 1, "^fn-.*$"), std::invalid_argument);
  EXPECT_THROW(make({""}, 1, "^fn-(.*$"), std::invalid_argument);
}

TEST(CgroupFs, FindsCgroup2MountFromMountinfo) {
  const std::string hybrid =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(*find_cgroup2_mount_in(hybrid), "/sys/fs/cgroup/unified");
  const std::string escaped = "41 31 0:38 / /mnt/my\\040cgroups rw shared:1 - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(*find_cgroup2_mount_in(escaped), "/mnt/my cgroups");
  EXPECT_FALSE(find_cgroup2_mount_in("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"));
}

namespace antiphase::agent {
namespace {

TEST(CgroupFs, ParsesUsageUsecFromCpuStat) {
  EXPECT_EQ(parse_cpu_stat_usage_usec("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n"), 1234u);
  EXPECT_EQ(parse_cpu_stat_usage_usec("nr_periods 0\nusage_usec 7"), 7u) << "any line, no final newline";
  EXPECT_FALSE(parse_cpu_stat_usage_usec("user_usec 1000\n").has_value());
  EXPECT_FALSE(parse_cpu_stat_usage_usec("usage_usec x\n").has_value());
  EXPECT_FALSE(parse_cpu_stat_usage_usec("usage_usecs 5\n").has_value());
  EXPECT_FALSE(parse_cpu_stat_usage_usec("").has_value());
}

}  // namespace
}  // namespace antiphase::agent
