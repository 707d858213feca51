// Hot paths of the shape model: sample updates, summary codec, embedding correlation.
// Run: build/tests/bench/shape/bench_shape (see docs/benchmarks/shape.md).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "common/shape/shape.h"

namespace antiphase::shape {
namespace {

constexpr int64_t kStart = 1700006400;

ShapeModel warmed_model(uint32_t seed = 1, const ShapeConfig& config = {}) {
  ShapeModel model(config);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> noise(0.0, 0.5);
  for (int64_t t = kStart; t < kStart + 3 * 86400; t += 60)
    model.add_sample(t, 1.0 + std::sin(t / 13751.0) + noise(rng), 60.0);
  return model;
}

// One tick's update of one function: 1-second steps through time, as the agent does.
void BM_AddSample(benchmark::State& state) {
  ShapeConfig config;
  config.k = static_cast<uint32_t>(state.range(0));
  ShapeModel model = warmed_model(1, config);
  int64_t t = kStart + 3 * 86400;
  double cores = 0.5;
  for (auto _ : state) {
    model.add_sample(t++, cores);
    cores = cores > 3 ? 0.5 : cores + 0.01;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddSample)->Arg(16)->Arg(32)->Arg(48)->Arg(64);

// The same at k = 48 with shape.highest_window set (the highest uses kept as a bounded
// staircase), rising or falling: compare with BM_AddSample/48 in the same run.
void BM_AddSampleWindowedHighest(benchmark::State& state) {
  ShapeConfig config;
  config.highest_window_s = 96 * 3600.0;
  ShapeModel model = warmed_model(1, config);
  int64_t t = kStart + 3 * 86400;
  const bool falling = state.range(0) != 0;  // every sample a new step: the bound merges
  double cores = falling ? 3.0 : 0.5;
  for (auto _ : state) {
    model.add_sample(t++, cores);
    if (falling) cores = cores < 0.5 ? 3.0 : cores - 0.0001;
    else cores = cores > 3 ? 0.5 : cores + 0.01;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddSampleWindowedHighest)->Arg(0)->Arg(1);

// Many functions updated round-robin (cache pressure like a busy host).
void BM_AddSampleManyFunctions(benchmark::State& state) {
  std::vector<ShapeModel> models(static_cast<size_t>(state.range(0)));
  int64_t t = kStart;
  size_t i = 0;
  for (auto _ : state) {
    models[i].add_sample(t, 1.0 + (i & 7) * 0.1);
    if (++i == models.size()) {
      i = 0;
      ++t;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddSampleManyFunctions)->Arg(1000);

void BM_Embedding(benchmark::State& state) {
  const ShapeModel model = warmed_model();
  for (auto _ : state) benchmark::DoNotOptimize(model.embedding());
}
BENCHMARK(BM_Embedding);

void BM_Correlate(benchmark::State& state) {
  const Embedding a = warmed_model(1).embedding(), b = warmed_model(2).embedding();
  for (auto _ : state) benchmark::DoNotOptimize(correlate(a, b));
}
BENCHMARK(BM_Correlate);

void BM_ExactCorrelation(benchmark::State& state) {
  const SlotProfile a = warmed_model(1).day_profile(), b = warmed_model(2).day_profile();
  for (auto _ : state) benchmark::DoNotOptimize(exact_correlation(a, b));
}
BENCHMARK(BM_ExactCorrelation);

void BM_SummarizeEncode(benchmark::State& state) {
  const ShapeModel model = warmed_model();
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string encoded = encode(summarize("checkout-api-production-eu-west-1", model, 4, 123));
    bytes = encoded.size();
    benchmark::DoNotOptimize(encoded.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SummarizeEncode);

void BM_Decode(benchmark::State& state) {
  const std::string encoded = encode(summarize("checkout-api-production-eu-west-1", warmed_model(), 4, 123));
  for (auto _ : state) benchmark::DoNotOptimize(decode(encoded));
}
BENCHMARK(BM_Decode);

void BM_DecodeAndEmbed(benchmark::State& state) {
  const std::string encoded = encode(summarize("checkout-api-production-eu-west-1", warmed_model(), 4, 123));
  for (auto _ : state) benchmark::DoNotOptimize(embedding_of(*decode(encoded)));
}
BENCHMARK(BM_DecodeAndEmbed);

void BM_SerializeState1000(benchmark::State& state) {
  std::map<std::string, ShapeModel> functions;
  const ShapeModel model = warmed_model();
  for (int i = 0; i < 1000; ++i) functions.emplace("fn-" + std::to_string(i), model);
  size_t bytes = 0;
  for (auto _ : state) bytes = serialize_state(functions, model).size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SerializeState1000)->Unit(benchmark::kMillisecond);

void BM_DeserializeState1000(benchmark::State& state) {
  std::map<std::string, ShapeModel> functions;
  const ShapeModel model = warmed_model();
  for (int i = 0; i < 1000; ++i) functions.emplace("fn-" + std::to_string(i), model);
  const std::string bytes = serialize_state(functions, model);
  for (auto _ : state) {
    std::map<std::string, ShapeModel> restored;
    ShapeModel host;
    benchmark::DoNotOptimize(deserialize_state(bytes, &restored, &host, nullptr));
  }
}
BENCHMARK(BM_DeserializeState1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace antiphase::shape

int main(int argc, char** argv) {
  const antiphase::shape::ShapeModel model;
  std::printf("memory per model at defaults: %zu bytes (sizeof %zu + heap)\n", model.memory_bytes(),
              sizeof(antiphase::shape::ShapeModel));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
