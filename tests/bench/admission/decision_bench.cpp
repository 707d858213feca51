// Cost of one admission decision on a host with many tenants. The host aggregate is a
// single measured profile however many tenants it has, so the cost should not grow
// with the tenant count; the 500-tenant case is the target (≤ 20 µs per decision).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "common/admission/margin_calibrator.h"
#include "common/admission/policy.h"
#include "common/admission/rank.h"
#include "common/node/node_core.h"
#include "common/shape/summary.h"

namespace {

using antiphase::admission::AdmissionPolicy;
using antiphase::admission::Candidate;
using antiphase::admission::HostView;
using antiphase::admission::PolicyConfig;
using antiphase::shape::SlotProfile;

SlotProfile random_tenant(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> level(0.01, 0.2), phase(0, 2 * M_PI);
  const double base = level(rng), ph = phase(rng);
  SlotProfile p;
  p.mean.resize(96);
  p.spread.resize(96);
  p.peak.resize(96);
  for (size_t w = 0; w < 96; ++w) {
    p.mean[w] = base * (1.0 + 0.8 * std::sin(2 * M_PI * w / 96.0 + ph));
    p.spread[w] = 0.3 * p.mean[w];
    p.peak[w] = p.mean[w] + 3 * p.spread[w];
  }
  return p;
}

// Host aggregate of `tenants` random tenants (what the shape model would have measured).
HostView host_with(size_t tenants, std::mt19937_64& rng) {
  HostView h;
  h.capacity_cores = 64;
  h.aggregate.mean.assign(96, 0.0);
  h.aggregate.spread.assign(96, 0.0);
  h.aggregate.peak.assign(96, 0.0);
  std::vector<double> variance(96, 0.0);
  for (size_t t = 0; t < tenants; ++t) {
    const SlotProfile p = random_tenant(rng);
    for (size_t w = 0; w < 96; ++w) {
      h.aggregate.mean[w] += p.mean[w];
      variance[w] += p.spread[w] * p.spread[w];
      h.aggregate.peak[w] += p.peak[w];
    }
  }
  for (size_t w = 0; w < 96; ++w) h.aggregate.spread[w] = std::sqrt(variance[w]);
  return h;
}

void BM_Decide(benchmark::State& state) {
  std::mt19937_64 rng(1);
  const HostView host = host_with(static_cast<size_t>(state.range(0)), rng);
  Candidate c;
  c.function = "candidate";
  c.profile = random_tenant(rng);
  c.correlation = {-0.2, 0.05};
  const AdmissionPolicy policy(PolicyConfig{});
  const antiphase::admission::MarginCalibrator calibrator;
  for (auto _ : state) {
    auto d = policy.decide(host, c, calibrator.z());
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_Decide)->Arg(1)->Arg(500)->Arg(5000);

// What /v1/admit costs inside antiphased: NodeCore::admit on a host whose view holds
// `tenants` tenants learned over two days, for a candidate known from a gossiped
// summary (sizing, shape correlation, co-movement, the overload-rate rule, memory off).
void BM_NodeCoreAdmit(benchmark::State& state) {
  using namespace antiphase;
  std::mt19937_64 rng(3);
  node::NodeConfig config;
  config.capacity_cores = 64;
  // Arg 1: the memory guard on (the daemon's default), with declared memory per request.
  const bool memory = state.range(1) != 0;
  if (!memory) config.memory.guard.mode = admission::CommittedMemoryMode::Off;
  node::NodeCore host(config, "bench");
  std::vector<SlotProfile> tenants;
  for (int t = 0; t < state.range(0); ++t) tenants.push_back(random_tenant(rng));
  constexpr int64_t kMidnight = 1700006400, kStep = 300;
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int64_t i = 0; i < 2 * 288; ++i) {
    node::Tick tick;
    tick.unix_ms = (kMidnight + i * kStep) * 1000;
    tick.dt_s = kStep;
    for (size_t t = 0; t < tenants.size(); ++t) {
      const size_t w = static_cast<size_t>(i % 288) / 3;
      tick.functions["tenant-" + std::to_string(t)] = {std::max(0.0, tenants[t].mean[w] + tenants[t].spread[w] * noise(rng)), 1,
                                                       uint64_t{64} << 20, uint64_t{128} << 20, uint64_t{64} << 20};
    }
    tick.memory_total_bytes = uint64_t{512} << 30;
    tick.memory_available_bytes = uint64_t{400} << 30;
    host.observe(tick, static_cast<double>(kMidnight + i * kStep));
  }
  node::NodeCore elsewhere(config, "elsewhere");
  for (int64_t i = 0; i < 288; ++i) {
    node::Tick tick;
    tick.unix_ms = (kMidnight + i * kStep) * 1000;
    tick.dt_s = kStep;
    tick.functions["candidate"] = {0.5 + 0.3 * std::sin(2 * M_PI * static_cast<double>(i) / 288), 1};
    elsewhere.observe(tick, static_cast<double>(kMidnight + i * kStep));
  }
  host.hear_function("candidate", shape::encode(elsewhere.summary_of("candidate", 1)));
  node::AdmitRequest request;
  request.function = "candidate";
  if (memory) request.memory_bytes = uint64_t{256} << 20;
  const double now = static_cast<double>(kMidnight + 2 * 288 * kStep);
  benchmark::DoNotOptimize(host.advert());  // the view is built once per tick, not per question
  for (auto _ : state) {
    auto a = host.admit(request, now);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_NodeCoreAdmit)->Args({1, 0})->Args({500, 0})->Args({500, 1})->Unit(benchmark::kMicrosecond);

// One tick of a host with N tenants: the node core learns every tenant (arg 1 = 1: first
// reading each tenant's gossip record, as the daemon does -- here its own, unchanged since
// it was published, the common case; NodeCore::learn_from_gossip decodes only a changed one).
void BM_NodeCoreTick(benchmark::State& state) {
  using namespace antiphase;
  std::mt19937_64 rng(3);
  node::NodeConfig config;
  config.capacity_cores = 64;
  node::NodeCore host(config, "bench");
  std::vector<SlotProfile> tenants;
  for (int t = 0; t < state.range(0); ++t) tenants.push_back(random_tenant(rng));
  constexpr int64_t kMidnight = 1700006400, kStep = 300;
  std::normal_distribution<double> noise(0.0, 1.0);
  auto tick_at = [&](int64_t i) {
    node::Tick tick;
    tick.unix_ms = (kMidnight + i * kStep) * 1000;
    tick.dt_s = kStep;
    for (size_t t = 0; t < tenants.size(); ++t) {
      const size_t w = static_cast<size_t>(i % 288) / 3;
      tick.functions["tenant-" + std::to_string(t)] = {std::max(0.0, tenants[t].mean[w] + tenants[t].spread[w] * noise(rng)), 1};
    }
    return tick;
  };
  int64_t i = 0;
  for (; i < 288; ++i) host.observe(tick_at(i), static_cast<double>(kMidnight + i * kStep));
  std::map<std::string, std::string> records;
  for (const auto& [name, model] : host.models()) records[name] = shape::encode(host.summary_of(name, 1));
  const auto lookup = [&](const std::string& name) -> std::optional<std::string> {
    const auto it = records.find(name);
    return it == records.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const bool gossip = state.range(1) != 0;
  std::vector<node::Tick> ticks;
  for (int64_t k = 0; k < 288; ++k) ticks.push_back(tick_at(i + k));
  size_t k = 0;
  for (auto _ : state) {
    const node::Tick& tick = ticks[k % ticks.size()];
    node::Tick next = tick;
    next.unix_ms = (kMidnight + (i + static_cast<int64_t>(k)) * kStep) * 1000;
    const double now = static_cast<double>(next.unix_ms / 1000);
    if (gossip) host.observe(next, now, lookup);
    else host.observe(next, now);
    ++k;
  }
}
BENCHMARK(BM_NodeCoreTick)->Args({500, 0})->Args({500, 1})->Unit(benchmark::kMicrosecond);

void BM_RankHosts(benchmark::State& state) {
  std::mt19937_64 rng(2);
  std::vector<HostView> hosts;
  for (int i = 0; i < state.range(0); ++i) hosts.push_back(host_with(50, rng));
  Candidate c;
  c.function = "candidate";
  c.profile = random_tenant(rng);
  const AdmissionPolicy policy(PolicyConfig{});
  for (auto _ : state) {
    auto r = antiphase::admission::rank_hosts(policy, hosts, c, 3.0);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RankHosts)->Arg(100);

void BM_CalibratorObserve(benchmark::State& state) {
  antiphase::admission::MarginCalibrator cal;
  double x = 0;
  for (auto _ : state) {
    x += 0.37;
    cal.observe_residual(1.0, 0.5, 1.0 + std::fmod(x, 3.0), x, 1.0);
    benchmark::DoNotOptimize(cal);
  }
}
BENCHMARK(BM_CalibratorObserve);

}  // namespace

BENCHMARK_MAIN();
