// Accuracy of the correlation estimate versus k on the real shared traces, and of the
// gossip summary's reconstruction. Prints the table recorded in docs/shape-model.md.
// Traces: $ANTIPHASE_TRACES, else <source>/../shared/traces; skipped when absent.
#include <gtest/gtest.h>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/shape/dct_basis.h"
#include "common/shape/shape.h"

namespace antiphase::shape {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kLargestK = 64;
constexpr size_t kPairs = 3000;

fs::path traces_dir() {
  if (const char* env = std::getenv("ANTIPHASE_TRACES"); env && *env) return env;
  return fs::path(ANTIPHASE_SOURCE_DIR) / ".." / "shared" / "traces";
}

struct Trace {
  std::vector<std::string> names;
  std::vector<ShapeModel> models;
};

// Reads `timestamp,function,cpu` rows; each row is one 300 s step of usage.
bool load(const fs::path& path, Trace* trace, std::string* error) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) {
    *error = "cannot open " + path.string();
    return false;
  }
  ShapeConfig config;
  config.k = kLargestK;
  std::unordered_map<std::string, size_t> index;
  char line[512];
  while (gzgets(file, line, sizeof line)) {
    char* end = nullptr;
    const long long t = std::strtoll(line, &end, 10);
    if (end == line || *end != ',') continue;  // header or malformed
    char* name = end + 1;
    char* comma = std::strchr(name, ',');
    if (!comma) continue;
    const std::string function(name, comma);
    const double cores = std::strtod(comma + 1, nullptr);
    auto [it, inserted] = index.try_emplace(function, trace->models.size());
    if (inserted) {
      trace->names.push_back(function);
      trace->models.emplace_back(config);
    }
    trace->models[it->second].add_sample(t, cores, 300.0);
  }
  gzclose(file);
  return true;
}

FoldEmbedding truncated(FoldEmbedding e, uint32_t k) {
  e.mean_coef = e.mean_coef.head(k).eval();
  e.spread_coef = e.spread_coef.head(k).eval();
  return e;
}

struct Accuracy {
  double error_sum = 0, error_max = 0, bound_sum = 0;
  size_t pairs = 0, violations = 0;
  void add(const CorrelationEstimate& estimate, double exact) {
    const double error = std::abs(estimate.rho - exact);
    error_sum += error;
    error_max = std::max(error_max, error);
    bound_sum += estimate.bound;
    violations += error > estimate.bound;
    ++pairs;
  }
  double mean_error() const { return pairs ? error_sum / pairs : 0; }
};

double relative_l2(const std::vector<double>& approx, const std::vector<double>& truth) {
  double error = 0, norm = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    error += (approx[i] - truth[i]) * (approx[i] - truth[i]);
    norm += truth[i] * truth[i];
  }
  return norm > 0 ? std::sqrt(error / norm) : 0;
}

// What admission adds up per slot (with z = 3).
std::vector<double> mean_plus_3_spread(const SlotProfile& p) {
  std::vector<double> out(p.mean.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = p.mean[i] + 3 * p.spread[i];
  return out;
}

std::vector<double> dct_reconstruction(const std::vector<double>& values, uint32_t k) {
  SlotProfile profile;
  profile.mean = values;
  profile.spread = values;
  const FoldEmbedding e = embed_profile(profile, k);
  const DctBasis& basis = dct_basis(static_cast<uint32_t>(values.size()), k);
  const Eigen::VectorXd back = basis * e.mean_coef;
  return {back.data(), back.data() + back.size()};
}

void evaluate(const std::string& file) {
  const fs::path path = traces_dir() / file;
  if (!fs::exists(path)) GTEST_SKIP() << "trace " << path << " not found (set ANTIPHASE_TRACES)";
  Trace trace;
  std::string error;
  ASSERT_TRUE(load(path, &trace, &error)) << error;

  // Functions with at least a day of history, and their day profiles.
  std::vector<size_t> usable;
  std::vector<SlotProfile> profiles(trace.models.size());
  std::vector<Embedding> embeddings(trace.models.size()), gossiped(trace.models.size());
  double mean_rel = 0, spread_rel = 0, load_rel = 0, dct24_rel = 0, dct48_rel = 0;
  for (size_t i = 0; i < trace.models.size(); ++i) {
    if (trace.models[i].confidence() < 1.0) continue;
    usable.push_back(i);
    profiles[i] = trace.models[i].day_profile();
    embeddings[i] = trace.models[i].embedding();
    const auto summary = decode(encode(summarize(trace.names[i], trace.models[i], 1, 1)));
    ASSERT_TRUE(summary);
    gossiped[i] = embedding_of(*summary, ShapeConfig{}.k);
    const SlotProfile approx = reconstruct_day(*summary);
    mean_rel += relative_l2(approx.mean, profiles[i].mean);
    spread_rel += relative_l2(approx.spread, profiles[i].spread);
    load_rel += relative_l2(mean_plus_3_spread(approx), mean_plus_3_spread(profiles[i]));
    dct24_rel += relative_l2(dct_reconstruction(profiles[i].mean, 24), profiles[i].mean);
    dct48_rel += relative_l2(dct_reconstruction(profiles[i].mean, 48), profiles[i].mean);
  }
  ASSERT_GE(usable.size(), 10u);
  const double n = static_cast<double>(usable.size());

  const std::vector<uint32_t> ks{4, 8, 12, 16, 24, 32, 48, 64};
  std::vector<Accuracy> by_k(ks.size());
  Accuracy from_summaries;
  std::mt19937 rng(2026);
  std::uniform_int_distribution<size_t> pick(0, usable.size() - 1);
  for (size_t p = 0; p < kPairs; ++p) {
    const size_t a = usable[pick(rng)], b = usable[pick(rng)];
    if (a == b) continue;
    const double exact = exact_correlation(profiles[a], profiles[b]);
    for (size_t i = 0; i < ks.size(); ++i)
      by_k[i].add(correlate(truncated(embeddings[a].day, ks[i]), truncated(embeddings[b].day, ks[i])), exact);
    from_summaries.add(correlate(gossiped[a], gossiped[b]), exact);
  }

  std::printf("\n%s: %zu series, %zu with >= 1 day, %zu pairs\n", file.c_str(), trace.models.size(),
              usable.size(), by_k[0].pairs);
  std::printf("| k | mean abs error | max abs error | mean bound | bound violations |\n|---|---|---|---|---|\n");
  for (size_t i = 0; i < ks.size(); ++i)
    std::printf("| %u | %.4f | %.4f | %.3f | %zu |\n", ks[i], by_k[i].mean_error(), by_k[i].error_max,
                by_k[i].bound_sum / by_k[i].pairs, by_k[i].violations);
  std::printf("| summary (k=%u, %u/%u-bit slots) | %.4f | %.4f | %.3f | %zu |\n", ShapeConfig{}.k, kSummaryMeanBits, kSummarySpreadBits,
              from_summaries.mean_error(), from_summaries.error_max,
              from_summaries.bound_sum / from_summaries.pairs, from_summaries.violations);
  std::printf("summary reconstruction, mean relative L2 error: per-slot mean %.4f, per-slot spread %.4f, per-slot mean+3*spread %.4f; "
              "for comparison unquantised DCT of the mean at k=24: %.4f, k=48: %.4f\n",
              mean_rel / n, spread_rel / n, load_rel / n, dct24_rel / n, dct48_rel / n);

  for (const Accuracy& accuracy : by_k) EXPECT_EQ(accuracy.violations, 0u);
  EXPECT_EQ(from_summaries.violations, 0u);
  const size_t default_k = std::find(ks.begin(), ks.end(), ShapeConfig{}.k) - ks.begin();
  ASSERT_LT(default_k, ks.size());
  EXPECT_LE(by_k[default_k].mean_error(), 0.05);
  EXPECT_LT(mean_rel / n, 0.05);
}

TEST(TraceAccuracy, PlanetLab) { evaluate("planetlab-2011.csv.gz"); }
TEST(TraceAccuracy, Bitbrains) { evaluate("bitbrains-rnd-2013-07.csv.gz"); }

}  // namespace
}  // namespace antiphase::shape
