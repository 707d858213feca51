// Relief (common/node/relief.h): which tenant a host above capacity names to move, and
// after how long. Constructed hosts with known answers; no clock, no I/O.
#include <gtest/gtest.h>

#include "common/node/node_core.h"
#include "common/node/relief.h"

namespace antiphase::node {
namespace {

constexpr int64_t kMidnight = 1700006400;  // 2023-11-15 00:00 UTC
constexpr double kStep = 300;

TEST(Relief, MovesTheSmallestTenantThatBringsTheHostBackUnder) {
  // 8 + 5 + 3 + 1 = 17 on 16 cores: 1 core too many. The 1-core tenant is enough and
  // moves the least work; the 8-core one would fix it too, at eight times the move.
  const auto r = choose_relief({{"big", 8}, {"mid", 5}, {"small", 3}, {"tiny", 1}}, 16, 300);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->function, "tiny");
  EXPECT_DOUBLE_EQ(r->host_cores, 17);
  EXPECT_NE(r->explanation.find("moving tiny (1.00 cores now) brings it back under"), std::string::npos) << r->explanation;
  // 4 too many: "tiny" at 4 is enough; with it at 2, "mid" (5) is the smallest that is,
  // not "small" (3).
  EXPECT_EQ(choose_relief({{"big", 8}, {"mid", 5}, {"small", 3}, {"tiny", 4}}, 16, 300)->function, "tiny");
  EXPECT_EQ(choose_relief({{"big", 8}, {"mid", 5}, {"small", 3}, {"tiny", 2}, {"x", 2}}, 16, 300)->function, "mid");
}

TEST(Relief, WhenNoSingleTenantIsEnoughTheLargestMovesAndSaysSo) {
  // Three batch jobs that jumped together, 7 cores each on 16: 5 too many, none alone.
  const auto r = choose_relief({{"a", 4.5}, {"b", 4.9}, {"c", 4.8}, {"d", 4.8}}, 14, 600);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->function, "b");
  EXPECT_NE(r->explanation.find("no single tenant brings it back under"), std::string::npos) << r->explanation;
  EXPECT_EQ(choose_relief({{"x", 4.8}, {"w", 4.8}}, 4, 600)->function, "w") << "ties go to the first name";
}

TEST(Relief, NothingMovesUnderCapacityOrWhenOneTenantIsTooBigAlone) {
  EXPECT_FALSE(choose_relief({{"a", 8}, {"b", 8}}, 16, 300)) << "exactly at capacity is not above it";
  EXPECT_FALSE(choose_relief({{"giant", 20}}, 16, 300)) << "moving it alone changes nothing";
  EXPECT_FALSE(choose_relief({}, 16, 300));
}

TEST(Relief, ASpellIsUnbrokenTimeAboveCapacity) {
  ReliefWatch w;
  int asked = 0;
  auto hot = [&] {
    ++asked;
    return std::vector<TenantUsage>{{"a", 9}, {"b", 8}};
  };
  w.tick(15, 16, 300, hot);
  EXPECT_EQ(asked, 0) << "under capacity, the tenants' usage is not even copied";
  w.tick(17, 16, 300, hot);
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(w.relief(300));
  EXPECT_FALSE(w.relief(600));
  w.tick(15, 16, 300, hot);  // one tick under ends it
  EXPECT_EQ(w.over_s(), 0);
  EXPECT_FALSE(w.relief(300));
  w.tick(17, 16, 300, hot);
  w.tick(17, 16, 300, hot);
  ASSERT_TRUE(w.relief(600));
  EXPECT_EQ(w.relief(600)->function, "b");
  EXPECT_FALSE(w.relief(0)) << "0 = never";
}

// The node core names the tenant after relief_after_s of its own ticks above capacity,
// and not before; a reload to 0 turns it off.
TEST(Relief, TheNodeCoreNamesATenantAfterItsHostStayedAboveCapacity) {
  NodeConfig c;
  c.capacity_cores = 16;
  c.memory.guard.mode = admission::CommittedMemoryMode::Off;
  c.relief_after_s = 900;  // three 5-minute ticks
  NodeCore core(c, "host-a");
  auto tick = [&](int i, double batch) {
    Tick t;
    t.unix_ms = (kMidnight + i * static_cast<int64_t>(kStep)) * 1000;
    t.dt_s = kStep;
    t.functions["web"] = {6.0, 2};
    t.functions["batch-1"] = {batch, 1};
    t.functions["batch-2"] = {batch, 1};
    core.observe(t, kMidnight + i * kStep);
  };
  for (int i = 0; i < 12; ++i) tick(i, 0.5);  // idle batch jobs: 7 cores of 16
  EXPECT_FALSE(core.relief());
  tick(12, 6.0);  // both jump to 6: 18 of 16
  tick(13, 6.0);
  EXPECT_FALSE(core.relief()) << "600 s above capacity: not yet";
  tick(14, 6.0);
  const auto r = core.relief();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->function, "batch-1") << "6 cores remove the 2-core excess; so would web's 6, first name wins";
  EXPECT_DOUBLE_EQ(r->over_s, 900);
  EXPECT_DOUBLE_EQ(r->capacity_cores, 16);
  tick(15, 4.0);  // 14 of 16: the spell is over
  EXPECT_FALSE(core.relief());
  c.relief_after_s = 0;
  core.reconfigure(c);
  for (int i = 16; i < 22; ++i) tick(i, 6.0);
  EXPECT_FALSE(core.relief()) << "relief_after_s = 0 never names a tenant";
}

}  // namespace
}  // namespace antiphase::node
