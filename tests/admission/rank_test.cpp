#include <gtest/gtest.h>

#include "common/admission/rank.h"
#include "tests/admission/test_profiles.h"

namespace antiphase::admission {
namespace {

using testing::day_profile;
using testing::flat;

Candidate make(const std::string& name, shape::SlotProfile p, double rho) {
  Candidate c;
  c.function = name;
  c.profile = std::move(p);
  c.correlation = {rho, 0.0};
  c.comovement = {rho, "test"};
  return c;
}

TEST(Rank, CandidatesByFitAcceptedFirst) {
  HostView host;
  host.aggregate = day_profile(1.0, 5.0, 56, 60, 0.0);
  host.capacity_cores = 8.0;
  const std::vector<Candidate> candidates = {
      make("correlated", day_profile(0.5, 4.0, 56, 60, 0.0), 0.9),  // 9 at 14:00: rejected
      make("small", flat(0.5, 0.0), 0.0),                             // 5.5: 2.5 left
      make("night", day_profile(0.5, 2.0, 8, 12, 0.0), -0.5),        // 5.5 too, but
      make("big-flat", flat(2.5, 0.0), 0.0),                          // 7.5: 0.5 left
  };
  const AdmissionPolicy policy(PolicyConfig{});
  const std::vector<Ranked> tight = rank_candidates(policy, host, candidates, 3.0, FitOrder::Tightest);
  ASSERT_EQ(tight.size(), 4u);
  EXPECT_EQ(candidates[tight[0].index].function, "big-flat");
  EXPECT_EQ(candidates[tight[3].index].function, "correlated");
  EXPECT_FALSE(tight[3].decision.accept);
  // Ties keep input order.
  EXPECT_EQ(candidates[tight[1].index].function, "small");
  EXPECT_EQ(candidates[tight[2].index].function, "night");
  const std::vector<Ranked> roomy = rank_candidates(policy, host, candidates, 3.0, FitOrder::MostHeadroom);
  EXPECT_EQ(candidates[roomy[0].index].function, "small");
  EXPECT_EQ(candidates[roomy[3].index].function, "correlated");
}

TEST(Rank, HostsForOneCandidateUseTheSameCode) {
  std::vector<HostView> hosts(3);
  hosts[0].aggregate = flat(6.5, 0.0);  // candidate would not fit
  hosts[1].aggregate = flat(2.0, 0.0);
  hosts[2].aggregate = flat(5.0, 0.0);
  for (HostView& h : hosts) h.capacity_cores = 8.0;
  const Candidate c = make("f", flat(2.0, 0.0), 0.0);
  const AdmissionPolicy policy(PolicyConfig{});
  const std::vector<Ranked> best_fit = rank_hosts(policy, hosts, c, 3.0, FitOrder::Tightest);
  EXPECT_EQ(best_fit[0].index, 2u);
  EXPECT_NEAR(best_fit[0].decision.headroom_cores, 1.0, 1e-12);
  EXPECT_EQ(best_fit[1].index, 1u);
  EXPECT_EQ(best_fit[2].index, 0u);
  EXPECT_FALSE(best_fit[2].decision.accept);
  const std::vector<Ranked> spread = rank_hosts(policy, hosts, c, 3.0, FitOrder::MostHeadroom);
  EXPECT_EQ(spread[0].index, 1u);
}

}  // namespace
}  // namespace antiphase::admission
