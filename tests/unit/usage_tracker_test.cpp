#include <gtest/gtest.h>

#include <filesystem>

#include "agent/registry/cgroup_fs.h"
#include "agent/usage/usage_tracker.h"

using namespace antiphase::agent;
namespace fs = std::filesystem;

class UsageTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("antiphase-usage-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "fn-a-1.scope/child");
    fs::create_directories(root_ / "fn-a-2.scope");
    fs::create_directories(root_ / "fn-b.scope");
    reg_ = std::make_unique<CgroupRegistry>(RegistryOptions{root_.string(), {""}, R"(^fn-(.+?)(-[0-9]+)?\.scope$)", 1});
  }
  void TearDown() override { fs::remove_all(root_); }
  uint64_t id(const std::string& rel) { return *cgroup_id_of((root_ / rel).string()); }
  fs::path root_;
  std::unique_ptr<CgroupRegistry> reg_;
};

TEST_F(UsageTrackerTest, DeltasRollUpToFunctionsAsCores) {
  UsageTracker t(100);
  UsageSnapshot s0{1'000'000'000, {{id("fn-a-1.scope"), 0}, {id("fn-a-1.scope/child"), 0}, {id("fn-a-2.scope"), 0}, {id("fn-b.scope"), 0}}};
  EXPECT_TRUE(t.apply(s0, 1000, *reg_).first);
  // Two seconds later: a's instances and nested child burned 1.5 core·s each... in total 3 s over 2 s = 1.5 cores.
  UsageSnapshot s1{3'000'000'000, {{id("fn-a-1.scope"), 1'000'000'000}, {id("fn-a-1.scope/child"), 1'000'000'000},
                                   {id("fn-a-2.scope"), 1'000'000'000}, {id("fn-b.scope"), 500'000'000}}};
  const auto r = t.apply(s1, 3000, *reg_);
  EXPECT_FALSE(r.first);
  EXPECT_DOUBLE_EQ(r.dt_s, 2.0);
  EXPECT_NEAR(r.cores_by_function.at("a"), 1.5, 1e-9);
  EXPECT_NEAR(r.cores_by_function.at("b"), 0.25, 1e-9);
  EXPECT_NEAR(r.total_cores, 1.75, 1e-9);
  EXPECT_EQ(t.functions().at("a").instances, 2u);
  EXPECT_EQ(t.functions().at("a").history.size(), 1u);
}

TEST_F(UsageTrackerTest, NewCgroupAndCounterResetContributeNothingThatTick) {
  UsageTracker t(100);
  t.apply({0, {{id("fn-b.scope"), 5'000'000'000}}}, 0, *reg_);
  // fn-a appears with a large counter (time from before we watched it): ignored.
  const auto r = t.apply({1'000'000'000, {{id("fn-b.scope"), 4'000'000'000}, {id("fn-a-2.scope"), 9'000'000'000}}}, 1000, *reg_);
  EXPECT_DOUBLE_EQ(r.cores_by_function.at("a"), 0.0);
  EXPECT_DOUBLE_EQ(r.cores_by_function.at("b"), 0.0);  // went backwards
}

TEST_F(UsageTrackerTest, VanishedFunctionLeavesTheTable) {
  UsageTracker t(100);
  t.apply({0, {}}, 0, *reg_);
  EXPECT_EQ(t.functions().count("b"), 1u);
  fs::remove(root_ / "fn-b.scope");
  reg_->rescan();
  t.apply({1'000'000'000, {}}, 1000, *reg_);
  EXPECT_EQ(t.functions().count("b"), 0u);
  EXPECT_EQ(t.functions().count("a"), 1u);
}

TEST(FunctionUsage, MeanOverRecentWindow) {
  FunctionUsage f(5);
  for (int i = 1; i <= 7; ++i) f.history.push({i * 1000, static_cast<double>(i)});
  EXPECT_EQ(f.history.size(), 5u);                // ring keeps the newest 5: 3..7
  EXPECT_DOUBLE_EQ(f.mean_over(2.0, 1.0), 6.5);   // 7, 6
  EXPECT_DOUBLE_EQ(f.mean_over(100.0, 1.0), 5.0); // all five
  EXPECT_EQ(f.history.to_vector().front().cores, 3.0);
}
