// The cgroup sampler tells a cgroup that went away (churn) from one it cannot read
// (an error the antiphase_sampler_errors_total alert must see). Plain directories stand
// in for cgroups, so no root is needed.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/sampler/cgroup_stat_sampler.h"

using namespace antiphase::agent;
namespace fs = std::filesystem;

TEST(CgroupSamplerErrors, AnUnreadableCpuStatIsAnErrorAVanishedCgroupIsNot) {
  const fs::path dir = fs::temp_directory_path() / ("antiphase-sampler-errors-" + std::to_string(::getpid()));
  fs::create_directories(dir / "no-cpu-stat");
  CgroupStatSampler sampler;
  sampler.set_watched({{1, (dir / "no-cpu-stat").string(), true}, {2, (dir / "gone").string(), true}});
  const auto snapshot = sampler.read();
  EXPECT_TRUE(snapshot.cpu_ns.empty());
  EXPECT_EQ(sampler.read_errors(), 1u) << "the cgroup that exists but cannot be read";
  EXPECT_EQ(sampler.stats().at("unreadable_reads"), "2");
  sampler.read();
  EXPECT_EQ(sampler.read_errors(), 2u) << "counted per read, like the reads that throw";
  fs::remove_all(dir);
}
