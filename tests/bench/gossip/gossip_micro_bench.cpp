// Hot paths of the gossip core: signing and verifying a record (the per-record cost of
// signed origins), checking a node record's key binding, anti-entropy bucket hashes over
// a 10,000-host replica, and decoding a PUSH.   Run: gossip_micro_bench
#include <benchmark/benchmark.h>
#include <sodium.h>

#include "agent/gossip/record_signer.h"
#include "common/gossip/message_codec.h"
#include "common/gossip/record_store.h"
#include "common/wire/codec.h"

using namespace antiphase;
namespace ag = antiphase::agent::gossip;

namespace {

ag::CurveKeypair keypair() {
  if (sodium_init() < 0) std::abort();
  unsigned char pk[32], sk[32];
  crypto_box_keypair(pk, sk);
  return {std::string(reinterpret_cast<char*>(pk), 32), std::string(reinterpret_cast<char*>(sk), 32)};
}

gossip::RecordRef function_record(const std::string& name, const gossip::RecordAuthority* signer, uint64_t lamport = 5) {
  gossip::RecordDraft r{.kind = gossip::RecordKind::Function, .key = name,
                        .author_fp = gossip::fingerprint("worker-eu-west-1a-17"), .generation = 3, .version = lamport,
                        .payload = std::string(200, 's')};
  if (signer) r.signature = signer->sign(gossip::signing_bytes(r));
  return gossip::share(r);
}

void BM_SignRecord(benchmark::State& bench) {
  const auto keys = keypair();
  ag::CurveSigner signer(keys, std::make_shared<std::set<std::string>>());
  const auto record = function_record("resize-image", nullptr);
  for (auto _ : bench) benchmark::DoNotOptimize(signer.sign(gossip::signing_bytes(*record)));
}
BENCHMARK(BM_SignRecord);

void BM_VerifyRecord(benchmark::State& bench) {
  const auto keys = keypair();
  ag::CurveSigner signer(keys, std::make_shared<std::set<std::string>>());
  const auto record = function_record("resize-image", &signer);
  for (auto _ : bench)
    benchmark::DoNotOptimize(signer.verify(signer.sign_key(), gossip::signing_bytes(*record), record->signature()));
}
BENCHMARK(BM_VerifyRecord);

void BM_NodeKeyBinding(benchmark::State& bench) {
  const auto keys = keypair();
  auto allowlist = std::make_shared<std::set<std::string>>();
  allowlist->insert(keys.public_key);
  ag::CurveSigner signer(keys, allowlist);
  for (auto _ : bench) benchmark::DoNotOptimize(signer.key_allowed(keys.public_key, signer.sign_key()));
}
BENCHMARK(BM_NodeKeyBinding);

// Anti-entropy bucket hashes over a replica of the simulator's 10,000-host workload
// (33,333 functions): 2048 buckets (a power of two, what the protocol asks for: folded
// from the hashes the store keeps) and 2083 (any other count: a scan of every record).
void BM_BucketHashes(benchmark::State& bench) {
  gossip::ProtocolConfig config;
  gossip::UnsignedAuthority authority;
  gossip::RecordStore store("self", 1, config, authority);
  store.write_self(gossip::NodeBody{"tcp://10.0.0.1:7946", 16, "", "", false}, std::string(200, 'h'), 0);
  for (int i = 0; i < 33333; ++i) store.write_function("fn-" + std::to_string(i), std::string(200, 's'), 0);
  const auto buckets = static_cast<uint32_t>(bench.range(0));
  for (auto _ : bench) benchmark::DoNotOptimize(store.bucket_hashes(buckets));
}
BENCHMARK(BM_BucketHashes)->Arg(2048)->Arg(2083);

void BM_DecodePushOfTenRecords(benchmark::State& bench) {
  gossip::Message push;
  push.type = wire::MessageType::Push;
  push.from = gossip::Sender{"worker-eu-west-1a-1", 3, "tcp://10.0.0.1:7946", std::string(32, 'k')};
  for (int i = 0; i < 10; ++i) {
    auto r = function_record("fn-" + std::to_string(i), nullptr);
    push.records.push_back(r);
  }
  const std::string frame = gossip::encode(push);
  gossip::ProtocolConfig limits;
  for (auto _ : bench) {
    auto decoded = wire::decode(frame, 1 << 20);
    const auto& d = std::get<wire::Decoded>(decoded);
    benchmark::DoNotOptimize(gossip::from_wire(d.type, d.message, limits));
  }
  bench.SetBytesProcessed(bench.iterations() * frame.size());
}
BENCHMARK(BM_DecodePushOfTenRecords);

}  // namespace
BENCHMARK_MAIN();
