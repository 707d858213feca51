// Hot paths of one gossip exchange at 1,000 peers: building a digest, comparing a
// peer's digest, and decoding a SYN frame.  Run: gossip_micro_bench
#include <benchmark/benchmark.h>

#include "common/gossip/replicated_state.h"
#include "common/wire/codec.h"

using namespace antiphase;

namespace {

gossip::ReplicatedState state_with_peers(size_t peers, uint64_t version_offset) {
  gossip::ProtocolConfig config;
  gossip::ReplicatedState state("self", 1, config);
  for (size_t i = 0; i < peers; ++i) {
    wire::OriginDelta delta;
    delta.set_origin("worker-eu-west-1a-" + std::to_string(i));
    delta.set_generation(1);
    delta.set_max_version(1000 + (i % 2 ? version_offset : 0));
    state.apply(delta, 0);
  }
  return state;
}

void BM_Digest(benchmark::State& bench) {
  const auto state = state_with_peers(bench.range(0), 0);
  for (auto _ : bench) benchmark::DoNotOptimize(state.digest());
}
BENCHMARK(BM_Digest)->Arg(1000);

void BM_CompareDigest(benchmark::State& bench) {
  const auto mine = state_with_peers(bench.range(0), 0);
  const auto theirs = state_with_peers(bench.range(0), 5).digest();  // half the peers differ
  for (auto _ : bench) benchmark::DoNotOptimize(mine.compare(theirs));
}
BENCHMARK(BM_CompareDigest)->Arg(1000);

void BM_DecodeSyn(benchmark::State& bench) {
  wire::Gossip syn;
  syn.mutable_from()->set_node_id("worker-eu-west-1a-1");
  syn.mutable_from()->set_endpoint("tcp://10.0.0.1:7946");
  *syn.mutable_digest() = state_with_peers(bench.range(0), 0).digest();
  const std::string frame = wire::encode(wire::MessageType::Syn, syn);
  for (auto _ : bench) benchmark::DoNotOptimize(wire::decode(frame, 1 << 20));
  bench.SetBytesProcessed(bench.iterations() * frame.size());
}
BENCHMARK(BM_DecodeSyn)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
