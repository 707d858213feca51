#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/admission/explanation_json.h"
#include "common/admission/normal_quantile.h"
#include "common/admission/policy.h"
#include "common/admission/slot_window.h"
#include "tests/admission/test_profiles.h"

namespace antiphase::admission {
namespace {

using testing::day_profile;
using testing::flat;

// Host busy 14:00-15:00 UTC (slots 56..59), with its very top at 14:15 (slot 57).
HostView busy_afternoon_host() {
  HostView h;
  h.aggregate = day_profile(1.0, 4.0, 56, 60, 0.2);
  h.aggregate.mean[57] = 4.2;
  h.aggregate.peak[57] = 4.8;
  h.capacity_cores = 8.0;
  return h;
}

Candidate candidate(const std::string& name, shape::SlotProfile p, double rho) {
  Candidate c;
  c.function = name;
  c.profile = std::move(p);
  c.correlation = {rho, 0.05};
  c.comovement = {std::min(1.0, rho + 0.05), "test"};
  return c;
}

TEST(AdmissionPolicy, AnticorrelatedAcceptedWhereCorrelatedWithSameMeanAndPeakIsRejected) {
  const AdmissionPolicy policy(PolicyConfig{});
  const HostView host = busy_afternoon_host();
  // Same mean and peak, different timing: night-time spike vs afternoon spike.
  const Candidate night = candidate("night", day_profile(0.5, 3.5, 8, 12, 0.2), -0.3);
  const Candidate afternoon = candidate("afternoon", day_profile(0.5, 3.5, 56, 60, 0.2), 0.9);

  const Decision yes = policy.decide(host, night, 3.0);
  const Decision no = policy.decide(host, afternoon, 3.0);

  EXPECT_TRUE(yes.accept);
  EXPECT_FALSE(no.accept);
  // Afternoon: 4.2 + 3.5 + 3·sqrt(0.04 + 0.04 + 2·0.95·0.04) ≈ 9.35 at slot 57.
  EXPECT_NEAR(no.projected_peak_cores, 4.2 + 3.5 + 3.0 * std::sqrt(0.08 + 2 * 0.95 * 0.04), 1e-9);
  ASSERT_TRUE(no.binding_slot.has_value());
  EXPECT_EQ(*no.binding_slot, 57u);
  EXPECT_EQ(no.binding_window, "14:15-14:30 UTC");
  EXPECT_NE(no.reasons.front().find("14:15-14:30 UTC"), std::string::npos);
  EXPECT_LT(no.headroom_cores, 0.0);
  // Night: binding is the night spike 0+... or the host peak + 0.5, both well under 8.
  EXPECT_GT(yes.headroom_cores, 2.0);
  // Anticorrelation saved most of the second peak versus adding peaks.
  EXPECT_GT(yes.anticorrelation_saving_cores, 2.5);
  EXPECT_NEAR(yes.peak_sum_cores, (4.2 + 0.6) + (3.5 + 0.6), 1e-9);
}

TEST(AdmissionPolicy, CrossTermUsesTheCandidatesComovementClippedToRange) {
  const AdmissionPolicy policy(PolicyConfig{});
  const HostView host = busy_afternoon_host();
  Candidate c = candidate("c", flat(1.0, 0.5), 0.7);
  c.comovement = {0.9, "measured"};
  const Decision d = policy.decide(host, c, 3.0);
  EXPECT_NEAR(d.comovement, 0.9, 1e-12);
  EXPECT_EQ(d.comovement_source, "measured");
  // Slot 57: 4.2 + 1.0 + 3·sqrt(0.2² + 0.5² + 2·0.9·0.2·0.5).
  EXPECT_NEAR(d.projected_peak_cores, 5.2 + 3.0 * std::sqrt(0.04 + 0.25 + 2 * 0.9 * 0.1), 1e-9);
  // The shape correlation explains; it does not enter the projection.
  c.correlation = {-0.9, 0.0};
  EXPECT_NEAR(policy.decide(host, c, 3.0).projected_peak_cores, d.projected_peak_cores, 1e-12);
  c.comovement.rho = 1.6;
  EXPECT_NEAR(policy.decide(host, c, 3.0).comovement, 1.0, 1e-12);
  c.comovement.rho = -1.6;
  EXPECT_NEAR(policy.decide(host, c, 3.0).comovement, -1.0, 1e-12);
}

PolicyConfig slot_quantile_rule() {
  PolicyConfig c;
  c.rule = Rule::SlotQuantile;
  c.lump_share = 0;  // these tests check the projection's arithmetic alone
  return c;
}

TEST(AdmissionPolicy, InstancesScaleMeanAndSpread) {
  const AdmissionPolicy policy(slot_quantile_rule());
  HostView host;
  host.aggregate = flat(2.0, 0.0);
  host.capacity_cores = 8.0;
  Candidate c = candidate("c", flat(1.0, 0.5), 0.0);
  c.correlation = {0.0, 0.0};
  c.comovement = {0.0, "test"};
  c.instances = 3;
  const Decision three = policy.decide(host, c, 2.0);
  EXPECT_NEAR(three.projected_peak_cores, 2.0 + 3 * 1.0 + 2.0 * 3 * 0.5, 1e-9);  // = 8: exactly fits
  EXPECT_TRUE(three.accept);
  c.instances = 4;
  const Decision four = policy.decide(host, c, 2.0);
  EXPECT_NEAR(four.projected_peak_cores, 2.0 + 4 * 1.0 + 2.0 * 4 * 0.5, 1e-9);
  EXPECT_FALSE(four.accept);
  EXPECT_EQ(four.instances, 4u);
}

TEST(AdmissionPolicy, TargetUtilisationLowersTheLimit) {
  PolicyConfig cfg;
  cfg.target_utilisation = 0.5;
  HostView host;
  host.aggregate = flat(3.0, 0.0);
  host.capacity_cores = 8.0;
  Candidate c = candidate("c", flat(1.5, 0.0), 0.0);
  const Decision d = AdmissionPolicy(cfg).decide(host, c, 3.0);
  EXPECT_DOUBLE_EQ(d.limit_cores, 4.0);
  EXPECT_FALSE(d.accept);
  EXPECT_NEAR(d.headroom_cores, -0.5, 1e-12);
}

TEST(AdmissionPolicy, EmptyHostUsesCandidateAlone) {
  HostView host;
  host.capacity_cores = 4.0;
  const Decision d = AdmissionPolicy(PolicyConfig{}).decide(host, candidate("c", flat(1.0, 0.5), 0.0), 3.0);
  EXPECT_TRUE(d.accept);
  EXPECT_NEAR(d.projected_peak_cores, 2.5, 1e-12);
}

TEST(AdmissionPolicy, ExplanationRendersToJson) {
  const Decision d = AdmissionPolicy(PolicyConfig{}).decide(busy_afternoon_host(),
                                                            candidate("f", day_profile(0.5, 3.5, 56, 60, 0.2), 0.9), 3.0);
  const nlohmann::json j = to_json(d);
  EXPECT_EQ(j["accept"], false);
  EXPECT_EQ(j["binding_slot"], 57);
  EXPECT_EQ(j["binding_window"], "14:15-14:30 UTC");
  EXPECT_NEAR(j["correlation"]["used"].get<double>(), 0.95, 1e-12);
  EXPECT_GE(j["reasons"].size(), 2u);
}

TEST(SlotWindow, FormatsDayAndHourFolds) {
  EXPECT_EQ(slot_window(86400, 96, 0), "00:00-00:15 UTC");
  EXPECT_EQ(slot_window(86400, 96, 95), "23:45-24:00 UTC");
  EXPECT_EQ(slot_window(86400, 24, 14), "14:00-15:00 UTC");
  EXPECT_EQ(slot_window(3600, 60, 5), "+05:00-+06:00 of each 3600 s period");
  EXPECT_EQ(slot_window(86400, 96, 96), "unknown slot");
}

TEST(NormalQuantile, MatchesTables) {
  EXPECT_NEAR(normal_upper_quantile(0.001), 3.0902, 1e-4);
  EXPECT_NEAR(normal_upper_quantile(0.05), 1.6449, 1e-4);
  EXPECT_NEAR(normal_upper_quantile(0.5), 0.0, 1e-9);
  EXPECT_TRUE(std::isfinite(normal_upper_quantile(0.0)));
}

TEST(AdmissionPolicy, OverloadRateRuleProjectsTheShareOfTimeAboveTheLimit) {
  // Host flat at 6 ± 1 cores, limit 8, candidate flat 1 core without spread: every slot
  // has (8 - 7) / 1 = 1σ of room, so with Gaussian residuals the load is above the
  // limit P(u > 1) = 15.9 % of the time; meeting 0.1 % needs 3.09σ, i.e. 2.09 cores less.
  HostView host;
  host.aggregate = flat(6.0, 1.0);
  host.capacity_cores = 8.0;
  Candidate c = candidate("c", flat(1.0, 0.0), 0.0);
  c.comovement = {0.0, "test"};
  const Decision d = AdmissionPolicy(PolicyConfig{}).decide(host, c, 3.09);
  EXPECT_FALSE(d.accept);
  EXPECT_NEAR(d.projected_overload_rate, 0.1587, 0.0005);
  EXPECT_NEAR(d.target_overload_rate, 0.001, 1e-12);
  EXPECT_NEAR(d.headroom_cores, -2.09, 0.05);
  EXPECT_NE(d.reasons.front().find("of the time (target 0.10 %)"), std::string::npos) << d.reasons.front();
}

TEST(AdmissionPolicy, OverloadRateRuleSpendsTheBudgetWhereTheHostIsBusy) {
  // One busy slot of 96 at 7 ± 0.5 with a candidate of 0.5: the slot alone is above 8
  // P(u > 1) = 15.9 % of its time, 0.17 % of the day: over a 0.1 % target, within 0.5 %.
  HostView host;
  host.aggregate = day_profile(1.0, 7.0, 40, 41, 0.5);
  host.capacity_cores = 8.0;
  Candidate c = candidate("c", flat(0.5, 0.0), 0.0);
  c.comovement = {0.0, "test"};
  EXPECT_FALSE(AdmissionPolicy(PolicyConfig{}).decide(host, c, 3.09).accept);
  PolicyConfig relaxed;
  relaxed.target_overload_rate = 0.005;
  const Decision d = AdmissionPolicy(relaxed).decide(host, c, 2.58);
  EXPECT_TRUE(d.accept);
  EXPECT_NEAR(d.projected_overload_rate, 0.1587 / 96, 0.0002);
  ASSERT_TRUE(d.binding_slot.has_value());
  EXPECT_EQ(*d.binding_slot, 40u);
  // The slot-quantile rule would have refused it at the same margin: 7.5 + 2.58 · 0.5 > 8.
  relaxed.rule = Rule::SlotQuantile;
  EXPECT_FALSE(AdmissionPolicy(relaxed).decide(host, c, 2.58).accept);
}

TEST(TailModel, GaussianTailAndQuantileInvertEachOther) {
  const TailModel g = TailModel::gaussian();
  // Exact for a Gaussian, between the points and past both ends.
  for (double m : {-1.0, 0.0, 1.0, 2.5, 3.09, 4.5, 6.0}) EXPECT_NEAR(g.exceedance(m), normal_upper_tail(m), 1e-9) << m;
  EXPECT_NEAR(g.quantile(0.001), 3.0902, 1e-3);
  for (double p : {0.5, 0.3, 0.05, 0.001, 1e-4, 1e-6}) EXPECT_NEAR(g.exceedance(g.quantile(p)), p, p * 1e-6);
  // A heavy tail: the 0.1 % margin is 5, not 3.09; past its last point it still decays.
  TailModel heavy = g;
  for (size_t k = 0; k < TailModel::kLevels; ++k) heavy.u[k] = 1.0 + static_cast<double>(k) * 0.7;
  EXPECT_NEAR(heavy.exceedance(heavy.u[5]), 0.001, 1e-9);
  EXPECT_GT(heavy.exceedance(6.0), g.exceedance(6.0));
  EXPECT_LT(heavy.exceedance(20.0), 1e-6);
}

// A host of noisy tenants whose peaks are known: mean 5 ± 1 cores all day, their own
// peaks adding up to 6 (limit 8). A candidate of mean 1 ± 0.5 and peak 1.5 moving with
// them: projected 6 ± 1.5 against a limit of 8 is above it far more than 0.1 % of the
// time, but at their observed peaks all together they come to 7.5.
PolicyConfig peaks_fit_mode() { return PolicyConfig{}; }  // the default

PolicyConfig projection_alone() {
  PolicyConfig c;
  c.accept_when_peaks_fit = false;
  return c;
}

HostView noisy_host_with_known_peaks() {
  HostView h;
  h.aggregate = flat(5.0, 1.0);
  h.capacity_cores = 8.0;
  h.tenants_peak_cores = 6.0;
  return h;
}

TEST(PeaksFit, WhatPeakSumWouldAcceptIsAcceptedEvenWhenTheProjectionRefuses) {
  const AdmissionPolicy policy(peaks_fit_mode());
  shape::SlotProfile p = flat(1.0, 0.5);
  p.peak.assign(96, 1.5);
  const Candidate c = candidate("c", p, 0.95);
  const Decision d = policy.decide(noisy_host_with_known_peaks(), c, 3.0);
  EXPECT_TRUE(d.accept);
  EXPECT_TRUE(d.accepted_because_peaks_fit);
  EXPECT_GT(d.projected_overload_rate, 0.01) << "the projection alone must refuse for this test to mean anything";
  EXPECT_NEAR(d.peaks_fit_cores, 7.5, 1e-9);
  EXPECT_NEAR(d.headroom_cores, 0.5, 1e-9);
  EXPECT_NE(d.reasons.at(0).find("because the peaks fit"), std::string::npos) << d.reasons.at(0);
  EXPECT_NE(d.reasons.at(0).find("7.50"), std::string::npos) << d.reasons.at(0);
  EXPECT_EQ(d.reasons.at(1).rfind("Without the peaks-fit rule it would be refused: the projected load", 0), 0u) << d.reasons.at(1);
  EXPECT_EQ(to_json(d)["accepted_because_peaks_fit"], true);

  // Two instances no longer fit at their peaks (9.0 > 8): refused, by the projection.
  Candidate two = c;
  two.instances = 2;
  const Decision no = policy.decide(noisy_host_with_known_peaks(), two, 3.0);
  EXPECT_FALSE(no.accept);
  EXPECT_NEAR(no.peaks_fit_cores, 9.0, 1e-9);
  EXPECT_EQ(no.reasons.at(0).rfind("Rejected", 0), 0u) << no.reasons.at(0);
}

TEST(PeaksFit, OffUnknownTenantPeaksOrARequestedMeanLeaveTheProjectionAlone) {
  shape::SlotProfile p = flat(1.0, 0.5);
  p.peak.assign(96, 1.5);
  const Candidate c = candidate("c", p, 0.95);
  EXPECT_FALSE(AdmissionPolicy(projection_alone()).decide(noisy_host_with_known_peaks(), c, 3.0).accept)
      << "off, the projection alone decides";

  const AdmissionPolicy policy(peaks_fit_mode());
  HostView unknown = noisy_host_with_known_peaks();
  unknown.tenants_peak_cores = std::numeric_limits<double>::quiet_NaN();  // a peer that does not say
  const Decision d = policy.decide(unknown, c, 3.0);
  EXPECT_FALSE(d.accept);
  EXPECT_TRUE(std::isnan(d.peaks_fit_cores));
  EXPECT_TRUE(to_json(d)["peaks_fit_cores"].is_null());

  // A requested mean is not a peak: no floor. A requested peak is.
  Candidate by_mean;
  by_mean.function = "new";
  by_mean.request_mean_cores = 1.5;
  EXPECT_FALSE(policy.decide(noisy_host_with_known_peaks(), by_mean, 3.0).accept);
  Candidate by_peak = by_mean;
  by_peak.request_mean_cores.reset();
  by_peak.request_peak_cores = 1.5;
  by_peak.comovement = {1.0, "test"};
  const Decision peak_sized = policy.decide(noisy_host_with_known_peaks(), by_peak, 3.0);
  EXPECT_TRUE(peak_sized.accept);
  EXPECT_TRUE(peak_sized.accepted_because_peaks_fit);
}

// Target 0, the careful end of the knob: only what fits at peaks, whatever the projection
// says either way.
TEST(PeaksFit, TargetZeroAcceptsExactlyWhatFitsAtPeaks) {
  PolicyConfig zero;
  zero.target_overload_rate = 0;
  const AdmissionPolicy policy(zero);
  shape::SlotProfile p = flat(1.0, 0.5);
  p.peak.assign(96, 1.5);
  // The projection refuses (6 ± 1.5 against 8 at 3.0), the peaks fit (7.5): accepted.
  const Decision fits = policy.decide(noisy_host_with_known_peaks(), candidate("c", p, 0.95), 3.0);
  EXPECT_TRUE(fits.accept);
  EXPECT_NEAR(fits.peaks_fit_cores, 7.5, 1e-9);
  EXPECT_NEAR(fits.headroom_cores, 0.5, 1e-9);
  EXPECT_GT(fits.projected_overload_rate, 0.01) << "the projection alone must refuse for this to mean anything";
  EXPECT_EQ(fits.reasons.at(0).rfind("Accepted 1 instance(s) of 'c': the target overload rate is 0", 0), 0u)
      << fits.reasons.at(0);

  // A calm host the projection would fill, but whose tenants peaked at 7: 7 + 1.5 > 8.
  HostView calm;
  calm.aggregate = flat(2.0, 0.1);
  calm.capacity_cores = 8.0;
  calm.tenants_peak_cores = 7.0;
  const Candidate c = candidate("c", p, 0.95);
  ASSERT_TRUE(AdmissionPolicy(projection_alone()).decide(calm, c, 3.0).accept) << "the projection alone accepts";
  const Decision over = policy.decide(calm, c, 3.0);
  EXPECT_FALSE(over.accept);
  EXPECT_NEAR(over.headroom_cores, -0.5, 1e-9);
  EXPECT_NE(over.reasons.at(0).find("8.50 cores, over the limit of 8.00 cores (0.50 cores too much)"),
            std::string::npos)
      << over.reasons.at(0);

  // The most it was ever seen to use counts, not only its profile's peak.
  Candidate tall = candidate("c", p, 0.95);
  tall.highest_cores = 2.5;
  EXPECT_FALSE(policy.decide(noisy_host_with_known_peaks(), tall, 3.0).accept);

  // No peak to go by: refused, and says why.
  Candidate by_mean;
  by_mean.function = "new";
  by_mean.request_mean_cores = 0.1;
  const Decision blind = policy.decide(noisy_host_with_known_peaks(), by_mean, 3.0);
  EXPECT_FALSE(blind.accept);
  EXPECT_NE(blind.reasons.at(0).find("no known peak"), std::string::npos) << blind.reasons.at(0);
  HostView unknown = noisy_host_with_known_peaks();
  unknown.tenants_peak_cores = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(policy.decide(unknown, candidate("c", p, 0.95), 3.0).accept);
}

// A host measured above its limit more often than the target: its projection has been
// too hopeful there, so it takes only what fits at the tenants' peaks until that fades.
TEST(MeasuredOverload, AHostMeasuredOverTheTargetTakesOnlyWhatFitsAtPeaks) {
  const AdmissionPolicy policy(peaks_fit_mode());
  HostView host;
  host.aggregate = flat(4.0, 0.2);
  host.capacity_cores = 8.0;
  host.tenants_peak_cores = 6.0;
  shape::SlotProfile p = flat(1.0, 0.1);
  p.peak.assign(96, 2.5);  // 6 + 2.5 > 8: does not fit at the peaks
  const Candidate c = candidate("c", p, 0.2);
  ASSERT_TRUE(policy.decide(host, c, 3.0).accept) << "a calm host takes it on the projection";

  host.measured_overload_rate = 0.004;
  EXPECT_TRUE(AdmissionPolicy(projection_alone()).decide(host, c, 3.0).accept) << "the brake belongs to peaks-fit mode";  // 0.4 % of recent host-time above the limit, target 0.1 %
  const Decision braked = policy.decide(host, c, 3.0);
  EXPECT_FALSE(braked.accept);
  EXPECT_DOUBLE_EQ(braked.measured_overload_rate, 0.004);
  EXPECT_NE(braked.reasons.at(0).find("measured above its limit 0.40 %"), std::string::npos) << braked.reasons.at(0);
  EXPECT_EQ(braked.reasons.at(1).rfind("The projection alone would accept it: ", 0), 0u) << braked.reasons.at(1);

  shape::SlotProfile small = p;
  small.peak.assign(96, 1.5);  // 6 + 1.5 ≤ 8
  const Decision fits = policy.decide(host, candidate("small", small, 0.2), 3.0);
  EXPECT_TRUE(fits.accept);
  EXPECT_TRUE(fits.accepted_because_peaks_fit);
  EXPECT_EQ(fits.reasons.at(1).rfind("Without the peaks-fit rule it would be refused: this host was measured", 0), 0u)
      << fits.reasons.at(1);
}

}  // namespace
}  // namespace antiphase::admission
