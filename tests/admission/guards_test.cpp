#include <gtest/gtest.h>

#include <cmath>

#include "common/admission/policy.h"
#include "tests/admission/test_profiles.h"

namespace antiphase::admission {
namespace {

using testing::day_profile;
using testing::flat;

HostView quiet_host() {
  HostView h;
  h.aggregate = flat(1.0, 0.1);
  h.capacity_cores = 8.0;
  h.telemetry_age_s = 2.0;
  return h;
}

bool mentions(const Decision& d, const std::string& words) {
  for (const std::string& r : d.reasons)
    if (r.find(words) != std::string::npos) return true;
  return false;
}

TEST(Guards, StaleTelemetryRefusesWithReason) {
  PolicyConfig cfg;
  cfg.max_telemetry_age_s = 30;
  HostView host = quiet_host();
  host.telemetry_age_s = 95;
  Candidate c;
  c.function = "f";
  c.profile = flat(0.1, 0.0);
  const Decision d = AdmissionPolicy(cfg).decide(host, c, 3.0);
  EXPECT_FALSE(d.accept);
  EXPECT_TRUE(mentions(d, "95 s old (limit 30 s)")) << d.reasons.front();
}

TEST(Guards, UnknownFunctionRejectedWhenConfigured) {
  PolicyConfig cfg;
  cfg.unknown = UnknownFunction::Reject;
  Candidate c;
  c.function = "mystery";
  c.request_peak_cores = 0.5;
  const Decision d = AdmissionPolicy(cfg).decide(quiet_host(), c, 3.0);
  EXPECT_FALSE(d.accept);
  EXPECT_TRUE(mentions(d, "rejects unknown functions")) << d.reasons.front();
}

TEST(Guards, UnknownFunctionSizedFlatFromRequestedPeak) {
  Candidate c;
  c.function = "mystery";
  c.request_mean_cores = 1.0;
  c.request_peak_cores = 2.0;
  const Decision d = AdmissionPolicy(PolicyConfig{}).decide(quiet_host(), c, 3.0);
  EXPECT_TRUE(d.accept);
  // Host 1 + flat 2 (no spread for the candidate) + z·host spread; ρ unknown → 1.
  EXPECT_NEAR(d.projected_peak_cores, 1.0 + 2.0 + 3.0 * 0.1, 1e-9);
  EXPECT_TRUE(mentions(d, "sized flat at the requested peak"));
}

TEST(Guards, UnknownFunctionWithoutSizeIsRejected) {
  Candidate c;
  c.function = "mystery";
  const Decision d = AdmissionPolicy(PolicyConfig{}).decide(quiet_host(), c, 3.0);
  EXPECT_FALSE(d.accept);
  EXPECT_TRUE(mentions(d, "gives no valid size"));
  c.request_mean_cores = -1.0;
  EXPECT_FALSE(AdmissionPolicy(PolicyConfig{}).decide(quiet_host(), c, 3.0).accept);
}

TEST(Guards, LowConfidenceUsesObservedPeakFlat) {
  PolicyConfig cfg;
  cfg.min_confidence = 0.5;
  Candidate c;
  c.function = "young";
  c.profile = day_profile(0.2, 3.0, 10, 12, 0.0);  // peak 3 only at night
  c.correlation = {0.0, 0.0};
  c.comovement = {0.0, "test"};
  c.confidence = 0.2;
  const Decision young = AdmissionPolicy(cfg).decide(quiet_host(), c, 3.0);
  // Flat 3 cores everywhere: 1 + 3 + 3·0.1 in every slot.
  EXPECT_NEAR(young.projected_peak_cores, 4.3, 1e-9);
  EXPECT_TRUE(mentions(young, "below 0.50"));
  c.confidence = 0.9;
  const Decision grown = AdmissionPolicy(cfg).decide(quiet_host(), c, 3.0);
  EXPECT_NEAR(grown.projected_peak_cores, 1.0 + 3.0 + 3.0 * 0.1, 1e-9);
  EXPECT_FALSE(mentions(grown, "below 0.50"));
}

// A recent level shift can lift a young function's means above every peak it showed
// (node::shifted keeps peaks observed): the flat stand-in is then its recent level, so
// it is never below the profile it stands in for, while peaks fit still counts the
// peak it was seen to reach.
TEST(Guards, LowConfidenceStandInIsNeverBelowItsMeansButItsPeakStaysObserved) {
  PolicyConfig cfg;
  cfg.min_confidence = 0.5;
  Candidate c;
  c.function = "young";
  c.profile = day_profile(1.7, 4.5, 10, 12, 0.0);  // shifted by 1.5: 4.5 at night...
  c.profile->peak.assign(96, 3.0);                  // ...above the 3 cores it was seen at
  c.correlation = {0.0, 0.0};
  c.comovement = {0.0, "test"};
  c.confidence = 0.2;
  HostView host = quiet_host();
  host.tenants_peak_cores = 4.0;
  const Decision d = AdmissionPolicy(cfg).decide(host, c, 3.0);
  EXPECT_NEAR(d.projected_peak_cores, 1.0 + 4.5 + 3.0 * 0.1, 1e-9) << "flat at its recent level, not at 3";
  EXPECT_TRUE(mentions(d, "raised to its recent level 4.50"));
  EXPECT_NEAR(d.peaks_fit_cores, 4.0 + 3.0, 1e-9) << "its observed peak";
}

TEST(Guards, CapOnTotalAdmittedMeanLoad) {
  PolicyConfig cfg;
  cfg.max_admitted_mean_cores = 4.0;
  HostView host = quiet_host();
  host.admitted_mean_cores = 3.5;
  Candidate c;
  c.function = "f";
  c.profile = flat(1.0, 0.0);
  const Decision d = AdmissionPolicy(cfg).decide(host, c, 3.0);
  EXPECT_FALSE(d.accept);
  EXPECT_TRUE(mentions(d, "above the configured cap of 4.00 cores"));
  host.admitted_mean_cores = 2.5;
  EXPECT_TRUE(AdmissionPolicy(cfg).decide(host, c, 3.0).accept);
}

TEST(Guards, BadInputGetsClearRejectionNotACrash) {
  const AdmissionPolicy policy(PolicyConfig{});
  Candidate c;
  c.function = "f";
  c.profile = flat(1.0, 0.0);

  HostView no_capacity = quiet_host();
  no_capacity.capacity_cores = 0;
  EXPECT_TRUE(mentions(policy.decide(no_capacity, c, 3.0), "capacity"));

  EXPECT_TRUE(mentions(policy.decide(quiet_host(), c, NAN), "not a number"));

  Candidate zero = c;
  zero.instances = 0;
  EXPECT_FALSE(policy.decide(quiet_host(), zero, 3.0).accept);

  Candidate negative = c;
  negative.profile->mean[3] = -1;
  EXPECT_TRUE(mentions(policy.decide(quiet_host(), negative, 3.0), "negative or non-finite"));

  Candidate ragged = c;
  ragged.profile->spread.pop_back();
  EXPECT_TRUE(mentions(policy.decide(quiet_host(), ragged, 3.0), "different lengths"));

  Candidate hourly = c;
  hourly.profile->period_s = 3600;
  hourly.profile->mean.assign(60, 1.0);
  hourly.profile->spread.assign(60, 0.0);
  hourly.profile->peak.assign(60, 1.0);
  EXPECT_TRUE(mentions(policy.decide(quiet_host(), hourly, 3.0), "cannot be added"));

  Candidate nan_rho = c;
  nan_rho.comovement = {NAN, "broken estimator"};
  const Decision d = policy.decide(quiet_host(), nan_rho, 3.0);
  EXPECT_DOUBLE_EQ(d.comovement, 1.0);  // unknown co-movement: assume they move together
}

}  // namespace
}  // namespace antiphase::admission
