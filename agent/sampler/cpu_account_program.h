#pragma once
// Owns one loaded accounting BPF object: bpf/cpu_account.bpf.c (sched_switch, tp_btf or
// raw_tp) or bpf/cpu_sample.bpf.c (perf CPU-clock sampling). Opens it, sizes the maps,
// loads, attaches, and gives typed access to the maps both objects share. One instance
// per sampler; every instance has its own maps, so several can run side by side.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/cpu_account.h"
#include "common/config/defaults.h"

struct cpu_account;  // generated skeletons
struct cpu_sample;
struct bpf_link;
struct bpf_map;
struct bpf_program;

namespace antiphase::agent {

enum class CpuAccountAttach { TpBtf, RawTp, PerfEvent };
std::string_view to_string(CpuAccountAttach a);

// What a perf_sample CPU-clock sample charges (PerfEvent only):
//  - Harvest: the interrupted task's runtime since it was last charged, plus each task's
//    last runtime when it is freed (cpu_account.bpf.c; needs kernel BTF). The kernel's own
//    figure, late by about one sampling period of each task's CPU time.
//  - Count: one sampling period per sample (cpu_sample.bpf.c; loads without BTF).
//    Statistical, and biased when a tenant's run/sleep rhythm lines up with the timer.
enum class PerfEstimator { Harvest, Count };
std::string_view to_string(PerfEstimator e);

struct CpuAccountOptions {
  CpuAccountAttach attach = CpuAccountAttach::TpBtf;
  uint32_t max_cgroups = CPU_ACCOUNT_DEFAULT_MAX_CGROUPS;
  uint32_t perf_hz = defaults::kPerfFrequencyHz;  // PerfEvent only
  PerfEstimator perf_estimator = PerfEstimator::Harvest;  // PerfEvent only
};

class CpuAccountProgram {
 public:
  // Loads and attaches. Throws std::runtime_error carrying libbpf's explanation; whatever
  // was loaded or attached by then is released.
  explicit CpuAccountProgram(const CpuAccountOptions& options);
  ~CpuAccountProgram();
  CpuAccountProgram(const CpuAccountProgram&) = delete;
  CpuAccountProgram& operator=(const CpuAccountProgram&) = delete;

  void watch(uint64_t cgroup_id, uint32_t slot);  // throws on map errors
  void unwatch(uint64_t cgroup_id);               // missing ids are fine
  // Call after a batch of watch/unwatch: invalidates the programs' per-CPU lookup caches.
  void publish_watched_changes();

  // Sum over all CPUs of one slot's counters.
  slot_usage read_slot(uint32_t slot) const;
  // Per-CPU sums of slots 0..highest (index = slot), in a few batched syscalls where
  // the kernel supports them (>= 5.6), else one lookup per slot.
  std::vector<slot_usage> read_slots(uint32_t highest) const;
  // Indexed by CPU number (possible CPUs); empty in perf mode (no per-CPU state).
  std::vector<cpu_state> read_cpu_states() const;
  // What runs on each online CPU now, indexed by CPU number (pid 0 where idle or
  // offline): runs the running_task program on every online CPU, then reads its map.
  // nullopt in perf mode and on kernels that cannot run a program on a chosen CPU
  // (BPF_F_TEST_RUN_ON_CPU, Linux >= 5.10).
  std::optional<std::vector<running_task>> read_running() const;

  const CpuAccountOptions& options() const { return options_; }
  // "tp_btf", "raw_tp", "perf_event, harvest" or "perf_event, count".
  std::string describe() const;
  uint64_t sample_period_ns() const { return sample_period_ns_; }
  size_t attached_cpus() const { return attached_cpus_; }

  // Kernel-measured cost of the program; nullopt unless kernel.bpf_stats_enabled=1
  // (run_cnt stays 0 while it is off).
  struct RunStats {
    uint64_t run_cnt = 0;
    uint64_t run_time_ns = 0;
  };
  std::optional<RunStats> run_stats() const;
  // The same for the program that charges freed tasks (perf harvesting only).
  std::optional<RunStats> free_run_stats() const;

 private:
  // Owners of the generated skeletons and of links (defined where the skeletons are).
  struct DestroySchedSkeleton {
    void operator()(cpu_account* skel) const;
  };
  struct DestroySampleSkeleton {
    void operator()(cpu_sample* skel) const;
  };
  struct DestroyLink {
    void operator()(bpf_link* link) const;
  };

  void open_and_load();
  // Opens the skeleton for options_ and points the handles below at it.
  void open_skeleton();
  void open_count_skeleton();
  void open_sched_skeleton();
  int load_skeleton();
  void close_skeleton();
  void attach();
  void attach_perf_events();

  CpuAccountOptions options_;
  std::unique_ptr<cpu_account, DestroySchedSkeleton> sched_skel_;  // tp_btf / raw_tp
  std::unique_ptr<cpu_sample, DestroySampleSkeleton> sample_skel_;  // perf_event
  // Handles into whichever skeleton is open (cpu_state and bss: sched_switch only).
  bpf_map* watched_map_ = nullptr;
  bpf_map* usage_map_ = nullptr;
  bpf_map* cpu_state_map_ = nullptr;
  bpf_map* running_map_ = nullptr;
  bpf_program* program_ = nullptr;          // the accounting program (sched_switch or perf_event)
  bpf_program* running_program_ = nullptr;  // sched_switch only
  bpf_program* free_program_ = nullptr;     // perf harvest only: sched_process_free
  std::vector<int> online_cpus_;
  mutable bool run_on_cpu_supported_ = true;
  int possible_cpus_ = 0;
  mutable bool batch_supported_ = true;
  size_t attached_cpus_ = 0;
  uint64_t sample_period_ns_ = 0;
  // Declared after the skeletons, so links are destroyed (programs detached) first.
  std::vector<std::unique_ptr<bpf_link, DestroyLink>> links_;
};

// Parses a kernel CPU list such as "0-3,6,8-9" (sysfs .../cpu/online). Empty on error.
std::vector<int> parse_cpu_list(std::string_view text);

}  // namespace antiphase::agent
