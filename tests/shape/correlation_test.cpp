// The correlation estimate from embeddings: right sign on synthetic shapes, and the
// reported bound holds for every pair (exact models and summary-derived ones).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "common/shape/shape.h"
#include "tests/shape/synthetic.h"

namespace antiphase::shape {
namespace {

using namespace testing;

ShapeModel model_of(const Series& series, double days = 3, int64_t step_s = 300) {
  ShapeModel model;
  feed(model, series, days, step_s);
  return model;
}

TEST(Correlation, AntiphaseIsNegativeInPhaseIsPositive) {
  const ShapeModel morning = model_of(diurnal(6)), evening = model_of(diurnal(18));
  const ShapeModel morning2 = model_of(diurnal(6, 5.0, 2.0));
  const auto anti = correlate(morning.embedding(), evening.embedding());
  const auto same = correlate(morning.embedding(), morning2.embedding());
  EXPECT_LT(anti.rho, -0.95);
  EXPECT_GT(same.rho, 0.95);
  EXPECT_LT(anti.bound, 0.05);  // a pure sinusoid lives in the first coefficients
  EXPECT_NEAR(exact_correlation(morning.day_profile(), evening.day_profile()), -1.0, 0.01);
  // Six hours apart: roughly uncorrelated.
  const auto quarter = correlate(morning.embedding(), model_of(diurnal(12)).embedding());
  EXPECT_NEAR(quarter.rho, 0.0, 0.1);
}

TEST(Correlation, HourlySpikesAtZeroAndThirty) {
  const ShapeModel at_00 = model_of(hourly_spike(0), 1, 60), at_30 = model_of(hourly_spike(30), 1, 60);
  const ShapeModel at_00b = model_of(hourly_spike(0, 5, 0.5, 2.0), 1, 60);
  const auto apart = correlate(at_00.embedding(), at_30.embedding(), Fold::hour);
  const auto together = correlate(at_00.embedding(), at_00b.embedding(), Fold::hour);
  const double exact_apart = exact_correlation(at_00.hour_profile(), at_30.hour_profile());
  EXPECT_NEAR(exact_apart, -5.0 / 55.0, 1e-3);  // disjoint 5-minute spikes in 60 slots
  EXPECT_LT(apart.rho + apart.bound, 0.5);
  EXPECT_LE(std::abs(apart.rho - exact_apart), apart.bound);
  EXPECT_GT(together.rho, 0.9);
  EXPECT_GT(together.rho - together.bound, 0.3);
}

TEST(Correlation, FlatProfilesHaveUnknownCorrelation) {
  const ShapeModel a = model_of(flat(1.0)), b = model_of(diurnal(3));
  const auto estimate = correlate(a.embedding(), b.embedding());
  EXPECT_EQ(exact_correlation(a.day_profile(), b.day_profile()), 0.0);
  EXPECT_LE(std::abs(estimate.rho), estimate.bound);
  // Empty embeddings and mismatched folds give the uninformative answer.
  const auto none = correlate(Embedding{}, b.embedding());
  EXPECT_EQ(none.rho, 0.0);
  EXPECT_EQ(none.bound, 1.0);
}

// A zoo of shapes: sinusoids at random phase/period/amplitude, random walks, spikes,
// flat lines, noise and sums of them.
Series random_series(std::mt19937& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int kind = static_cast<int>(unit(rng) * 6);
  const double phase = unit(rng) * 24, level = 0.5 + 3 * unit(rng), amplitude = unit(rng) * level;
  const uint32_t seed = static_cast<uint32_t>(rng());
  switch (kind) {
    case 0:
      return diurnal(phase, level, amplitude);
    case 1:
      return daily_random_walk(seed);
    case 2: {
      const int start = static_cast<int>(unit(rng) * 1300), width = 15 + static_cast<int>(unit(rng) * 120);
      return [=](int64_t t) { const int64_t m = (t % kDay) / 60; return (m >= start && m < start + width) ? level + 2 : 0.1; };
    }
    case 3:
      return flat(level);
    case 4: {
      const int harmonics = 2 + static_cast<int>(unit(rng) * 10);
      return [=](int64_t t) {
        const double x = 2 * std::numbers::pi * static_cast<double>(t % kDay) / kDay;
        return level + amplitude * std::sin(harmonics * x + phase);
      };
    }
    default: {
      const Series walk = daily_random_walk(seed), wave = diurnal(phase, level, amplitude);
      return [=](int64_t t) {
        const uint64_t h = static_cast<uint64_t>(t) * 0x9E3779B97F4A7C15ull + seed;
        return walk(t) + wave(t) + 0.3 * static_cast<double>(h >> 40 & 0xff) / 255.0;
      };
    }
  }
}

struct Pool {
  std::vector<ShapeModel> models;
  std::vector<Embedding> embeddings, from_summaries;
  std::vector<SlotProfile> profiles;
};

Pool make_pool(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  Pool pool;
  for (size_t i = 0; i < count; ++i) {
    pool.models.push_back(model_of(random_series(rng), 2, 900));
    pool.embeddings.push_back(pool.models.back().embedding());
    pool.profiles.push_back(pool.models.back().day_profile());
    const auto decoded = decode(encode(summarize("f" + std::to_string(i), pool.models.back(), 1, 1)));
    pool.from_summaries.push_back(embedding_of(*decoded));
  }
  return pool;
}

TEST(Correlation, BoundHoldsForEveryPair) {
  const Pool pool = make_pool(60, 42);  // 1770 pairs
  size_t pairs = 0, violations = 0, informative = 0;
  double total_error = 0;
  for (size_t i = 0; i < pool.models.size(); ++i) {
    for (size_t j = i + 1; j < pool.models.size(); ++j) {
      const double exact = exact_correlation(pool.profiles[i], pool.profiles[j]);
      const auto estimate = correlate(pool.embeddings[i], pool.embeddings[j]);
      ++pairs;
      violations += std::abs(estimate.rho - exact) > estimate.bound;
      informative += estimate.bound < 0.5;
      total_error += std::abs(estimate.rho - exact);
    }
  }
  std::printf("pairs %zu, informative (bound < 0.5) %zu, mean |error| %.4f\n", pairs, informative,
              total_error / pairs);
  EXPECT_EQ(violations, 0u) << "of " << pairs;
  EXPECT_GT(informative, pairs / 2);  // the bound is not vacuous
  EXPECT_LT(total_error / pairs, 0.1);
}

TEST(Correlation, BoundHoldsForSummaryDerivedEmbeddings) {
  const Pool pool = make_pool(50, 7);
  size_t pairs = 0, violations = 0, mixed_violations = 0;
  double bound_sum = 0, error_sum = 0;
  for (size_t i = 0; i < pool.models.size(); ++i) {
    for (size_t j = i + 1; j < pool.models.size(); ++j) {
      const double exact = exact_correlation(pool.profiles[i], pool.profiles[j]);
      const auto both = correlate(pool.from_summaries[i], pool.from_summaries[j]);
      const auto mixed = correlate(pool.embeddings[i], pool.from_summaries[j]);
      ++pairs;
      violations += std::abs(both.rho - exact) > both.bound;
      mixed_violations += std::abs(mixed.rho - exact) > mixed.bound;
      bound_sum += both.bound;
      error_sum += std::abs(both.rho - exact);
    }
  }
  std::printf("pairs %zu, summary-derived: mean bound %.3f, mean |error| %.4f\n", pairs, bound_sum / pairs,
              error_sum / pairs);
  EXPECT_EQ(violations, 0u) << "of " << pairs;
  EXPECT_LT(error_sum / pairs, 0.1);
  EXPECT_EQ(mixed_violations, 0u) << "of " << pairs;
}

TEST(Correlation, BoundHoldsNearTheFlatThreshold) {
  // Large level, tiny variation: where cancellation in "energy - DC^2" bites.
  std::vector<ShapeModel> models;
  for (double amplitude : {1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 0.1, 1.0}) {
    for (double phase : {0.0, 7.0, 13.0}) {
      models.emplace_back();
      const Series walk = daily_random_walk(static_cast<uint32_t>(phase * 10 + amplitude * 1e4));
      const Series wave = diurnal(phase, 1000.0, amplitude);
      feed(models.back(), [=](int64_t t) { return wave(t) + amplitude * walk(t); }, 2, 60);
    }
  }
  size_t checked = 0;
  for (size_t i = 0; i < models.size(); ++i)
    for (size_t j = i + 1; j < models.size(); ++j) {
      const auto estimate = correlate(models[i].embedding(), models[j].embedding());
      const double exact = exact_correlation(models[i].day_profile(), models[j].day_profile());
      EXPECT_LE(std::abs(estimate.rho - exact), estimate.bound) << i << "," << j;
      ++checked;
    }
  EXPECT_EQ(checked, 210u);
}

TEST(Correlation, BoundHoldsAtEverySmallK) {
  std::mt19937 rng(3);
  for (uint32_t k : {1u, 2u, 4u, 8u, 16u, 24u}) {
    ShapeConfig config;
    config.k = k;
    std::vector<ShapeModel> models;
    for (int i = 0; i < 20; ++i) {
      models.emplace_back(config);
      feed(models.back(), random_series(rng), 1, 900);
    }
    for (size_t i = 0; i < models.size(); ++i)
      for (size_t j = i + 1; j < models.size(); ++j) {
        const auto estimate = correlate(models[i].embedding(), models[j].embedding());
        const double exact = exact_correlation(models[i].day_profile(), models[j].day_profile());
        EXPECT_LE(std::abs(estimate.rho - exact), estimate.bound) << "k=" << k << " pair " << i << "," << j;
      }
  }
}

}  // namespace
}  // namespace antiphase::shape
