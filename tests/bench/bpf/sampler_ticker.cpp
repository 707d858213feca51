// Loads one sampler, watches real cgroups and reads it every second until SIGINT/SIGTERM,
// like the agent would. Prints "ready" once attached and the sampler's stats on exit.
// Used by run.sh to measure what the sampler costs the rest of the host.
//
//   bpf_sampler_ticker --mode tp_btf|raw_tp|perf_sample|perf_count|cgroup [--hz 49] [--cgroups 64]
//
// perf_sample harvests task runtimes (the estimator that ships where BTF exists);
// perf_count counts samples (the no-BTF fallback, and the estimator before issue 20).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "agent/features/feature_probe.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/sampler/bpf_samplers.h"
#include "agent/sampler/cgroup_stat_sampler.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Args {
  std::string mode = "tp_btf";
  unsigned hz = 49;
  unsigned cgroups = 64;
};

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (arg == "--mode") a.mode = value;
    else if (arg == "--hz") a.hz = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
    else if (arg == "--cgroups") a.cgroups = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
    else return false;
  }
  return true;
}

// The first `limit` cgroups of the host, parents before children.
std::vector<antiphase::agent::WatchedCgroup> host_cgroups(const std::string& mount, unsigned limit) {
  std::vector<antiphase::agent::WatchedCgroup> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(mount, ec);
       !ec && it != std::filesystem::recursive_directory_iterator() && out.size() < limit; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const std::string path = it->path().string();
    if (auto id = antiphase::agent::cgroup_id_of(path)) out.push_back({*id, path, it.depth() == 0});
  }
  return out;
}

std::unique_ptr<antiphase::agent::Sampler> build(const Args& a) {
  using namespace antiphase::agent;
  if (a.mode == "tp_btf") return std::make_unique<BpfSchedSwitchSampler>(BpfSchedSwitchSampler::Attach::TpBtf, 4096);
  if (a.mode == "raw_tp") return std::make_unique<BpfSchedSwitchSampler>(BpfSchedSwitchSampler::Attach::RawTp, 4096);
  if (a.mode == "perf_sample") return std::make_unique<BpfPerfSampler>(a.hz, 4096, PerfEstimator::Harvest);
  if (a.mode == "perf_count") return std::make_unique<BpfPerfSampler>(a.hz, 4096, PerfEstimator::Count);
  if (a.mode == "cgroup") return std::make_unique<CgroupStatSampler>();
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    std::fprintf(stderr, "usage: %s --mode tp_btf|raw_tp|perf_sample|perf_count|cgroup [--hz N] [--cgroups N]\n", argv[0]);
    return 2;
  }
  const auto mount = antiphase::agent::find_cgroup2_mount();
  if (!mount) {
    std::fprintf(stderr, "no cgroup2 mount\n");
    return 1;
  }
  std::unique_ptr<antiphase::agent::Sampler> sampler;
  try {
    sampler = build(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot start %s sampler: %s\n", args.mode.c_str(), e.what());
    return 1;
  }
  if (!sampler) {
    std::fprintf(stderr, "unknown mode '%s'\n", args.mode.c_str());
    return 2;
  }
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  const auto watched = host_cgroups(*mount, args.cgroups);
  sampler->set_watched(watched);
  std::printf("ready mode=%s watched=%zu\n", args.mode.c_str(), watched.size());
  std::fflush(stdout);

  unsigned ticks = 0;
  while (!g_stop) {
    for (int i = 0; i < 10 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sampler->read();
    ++ticks;
  }
  sampler->read();
  std::printf("ticks=%u\n", ticks);
  for (const auto& [k, v] : sampler->stats()) std::printf("%s=%s\n", k.c_str(), v.c_str());
  return 0;
}
