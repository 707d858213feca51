// Cost of one sampler tick (read of every watched cgroup's counters) by table size.
// Needs root (loads the BPF object); reports an error per benchmark otherwise.
#include <benchmark/benchmark.h>

#include <memory>

#include "agent/sampler/bpf_samplers.h"

namespace {

using antiphase::agent::BpfSchedSwitchSampler;
using antiphase::agent::WatchedCgroup;

// Ids that match no real cgroup: the read cost depends on the number of slots only.
std::vector<WatchedCgroup> fake_cgroups(int64_t n) {
  std::vector<WatchedCgroup> out;
  for (int64_t i = 0; i < n; ++i) out.push_back({0xFFFF000000000000ULL + static_cast<uint64_t>(i), "", true});
  return out;
}

void BM_SchedSwitchRead(benchmark::State& state) {
  std::unique_ptr<BpfSchedSwitchSampler> sampler;
  try {
    sampler = std::make_unique<BpfSchedSwitchSampler>(BpfSchedSwitchSampler::Attach::TpBtf, 4096);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  sampler->set_watched(fake_cgroups(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(sampler->read());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SchedSwitchRead)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);

void BM_SetWatchedChurn(benchmark::State& state) {
  std::unique_ptr<BpfSchedSwitchSampler> sampler;
  try {
    sampler = std::make_unique<BpfSchedSwitchSampler>(BpfSchedSwitchSampler::Attach::TpBtf, 4096);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto a = fake_cgroups(state.range(0));
  auto b = a;
  for (auto& c : b) c.id ^= 0x0000800000000000ULL;  // a disjoint set: every slot changes hands
  bool flip = false;
  for (auto _ : state) {
    sampler->set_watched(flip ? a : b);
    flip = !flip;
  }
}
BENCHMARK(BM_SetWatchedChurn)->Arg(256)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
