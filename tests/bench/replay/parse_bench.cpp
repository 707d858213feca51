// Trace parsing throughput (rows per second on one core) on a generated in-memory CSV,
// the dominant cost of a replay. Target: ≥ 1 M samples/s.
#include <benchmark/benchmark.h>

#include <string>

#include "agent/trace/trace_reader.h"

namespace {

std::string generated_csv(size_t rows) {
  std::string text = "timestamp,function,cpu\n";
  for (size_t i = 0; i < rows; ++i)
    text += std::to_string(1300000000 + (i / 800) * 300) + ",vm-" + std::to_string(i % 800) + "_slice_name," +
            std::to_string(static_cast<double>(i % 97) / 37.0) + "\n";
  return text;
}

void BM_ParseTrace(benchmark::State& state) {
  const std::string text = generated_csv(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto t = antiphase::replay::parse_trace_text(text);
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseTrace)->Arg(200000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
