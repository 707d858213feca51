#pragma once
// Owns one loaded accounting BPF object: bpf/cpu_account.bpf.c (sched_switch, tp_btf or
// raw_tp) or bpf/cpu_sample.bpf.c (perf CPU-clock sampling). Opens it, sizes the maps,
// loads, attaches, and gives typed access to the maps both objects share. One instance
// per sampler; every instance has its own maps, so several can run side by side.
#include "common/config/defaults.h"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/cpu_account.h"

struct cpu_account;  // generated skeletons
struct cpu_sample;
struct bpf_link;
struct bpf_map;
struct bpf_program;

namespace antiphase::agent {

enum class CpuAccountAttach { TpBtf, RawTp, PerfEvent };
std::string_view to_string(CpuAccountAttach a);

struct CpuAccountOptions {
  CpuAccountAttach attach = CpuAccountAttach::TpBtf;
  uint32_t max_cgroups = CPU_ACCOUNT_DEFAULT_MAX_CGROUPS;
  uint32_t perf_hz = defaults::kPerfFrequencyHz;  // PerfEvent only
};

class CpuAccountProgram {
 public:
  // Loads and attaches. Throws std::runtime_error carrying libbpf's explanation.
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
  uint64_t sample_period_ns() const { return sample_period_ns_; }
  size_t attached_cpus() const { return attached_cpus_; }

  // Kernel-measured cost of the program; nullopt unless kernel.bpf_stats_enabled=1
  // (run_cnt stays 0 while it is off).
  struct RunStats {
    uint64_t run_cnt = 0;
    uint64_t run_time_ns = 0;
  };
  std::optional<RunStats> run_stats() const;

 private:
  void open_and_load();
  // Opens the skeleton for options_.attach and points the handles below at it.
  void open_skeleton();
  int load_skeleton();
  void destroy_skeleton();
  void attach();
  void attach_perf_events();
  void destroy();

  CpuAccountOptions options_;
  cpu_account* sched_skel_ = nullptr;  // tp_btf / raw_tp
  cpu_sample* sample_skel_ = nullptr;  // perf_event
  // Handles into whichever skeleton is open (cpu_state and bss: sched_switch only).
  bpf_map* watched_map_ = nullptr;
  bpf_map* usage_map_ = nullptr;
  bpf_map* cpu_state_map_ = nullptr;
  bpf_map* running_map_ = nullptr;
  bpf_program* program_ = nullptr;
  bpf_program* running_program_ = nullptr;
  std::vector<int> online_cpus_;
  mutable bool run_on_cpu_supported_ = true;
  std::vector<bpf_link*> links_;
  int possible_cpus_ = 0;
  mutable bool batch_supported_ = true;
  size_t attached_cpus_ = 0;
  uint64_t sample_period_ns_ = 0;
};

// Parses a kernel CPU list such as "0-3,6,8-9" (sysfs .../cpu/online). Empty on error.
std::vector<int> parse_cpu_list(std::string_view text);

}  // namespace antiphase::agent
