#pragma once
// The two eBPF samplers. Both report cumulative on-CPU ns per watched cgroup id (nested
// cgroups under their own id; the registry rolls them up to functions).
//
//  - BpfSchedSwitchSampler: exact accounting at every context switch (the scheduler's own
//    per-task runtime, as cpu.stat), plus the slice still running on each CPU at read
//    time (a busy loop may run for seconds unswitched), read on each CPU by a BPF program
//    run there (lags by at most one scheduler tick).
//  - BpfPerfSampler: a CPU-clock sample every 1/hz s on each CPU; its cost does not grow
//    with the context-switch rate. With kernel BTF a sample charges the interrupted
//    task's runtime since it was last charged (exact, late by about one period of each
//    task's CPU time); without BTF it charges one period (statistical, see PerfEstimator).
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/sampler/cpu_account_program.h"
#include "agent/sampler/sampler.h"
#include "agent/sampler/slot_table.h"

namespace antiphase::agent {

class BpfCpuSampler : public Sampler {
 public:
  void set_watched(const std::vector<WatchedCgroup>& cgroups) override;
  UsageSnapshot read() override;
  std::unordered_map<std::string, std::string> stats() const override;

  CpuAccountAttach attach() const { return program_->options().attach; }
  // "tp_btf", "raw_tp", "perf_event, harvest" or "perf_event, count".
  std::string describe() const { return program_->describe(); }

 protected:
  // Throws std::runtime_error (with libbpf's text) when the program cannot be loaded.
  explicit BpfCpuSampler(const CpuAccountOptions& options);

 private:
  struct SlotTotals {
    std::unordered_map<uint32_t, slot_usage> by_slot;
    uint64_t monotonic_ns = 0;
    uint32_t retries = 0;
  };
  SlotTotals read_totals() const;
  // Adds each CPU's running slice; false if a CPU switched during the read while its
  // slice was long enough to matter (the caller retries).
  bool add_in_flight(const std::vector<running_task>& before, const std::vector<running_task>& after,
                     bool may_retry, SlotTotals& totals) const;

  std::unique_ptr<CpuAccountProgram> program_;
  // Off in perf mode, and on kernels that cannot run a program on a chosen CPU: then a
  // lone busy loop is only seen when it is switched out.
  bool add_in_flight_ = false;
  mutable std::mutex mutex_;
  SlotTable slots_;
  std::unordered_map<uint32_t, uint64_t> baseline_ns_;   // slot -> counter at assignment
  std::unordered_map<uint64_t, uint64_t> reported_ns_;  // id -> last value handed out
  // Ids watched again after a pause continue from their last value (counters stay
  // monotonic for the life of the sampler); bounded, see set_watched().
  std::unordered_map<uint64_t, uint64_t> offset_ns_;    // id -> value carried over
  std::unordered_map<uint64_t, uint64_t> retired_ns_;   // removed id -> last value
  uint64_t rejected_ = 0;
  uint64_t other_ns_ = 0;
  uint64_t events_ = 0;
  uint64_t read_retries_ = 0;
};

class BpfSchedSwitchSampler final : public BpfCpuSampler {
 public:
  enum class Attach { TpBtf, RawTp };
  BpfSchedSwitchSampler(Attach attach, uint32_t max_cgroups);
  SamplerMode mode() const override { return SamplerMode::SchedSwitch; }
};

class BpfPerfSampler final : public BpfCpuSampler {
 public:
  BpfPerfSampler(uint32_t frequency_hz, uint32_t max_cgroups, PerfEstimator estimator = PerfEstimator::Harvest);
  SamplerMode mode() const override { return SamplerMode::PerfSample; }
};

}  // namespace antiphase::agent
