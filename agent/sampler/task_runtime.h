#pragma once
// A thread's cumulative on-CPU time as the scheduler keeps it (se.sum_exec_runtime),
// read from /proc/<tid>/schedstat. The value is refreshed at each scheduler tick and
// switch, so for a running thread it lags by at most one tick.
#include <cstdint>
#include <optional>
#include <string_view>

namespace antiphase::agent {

// nullopt if the thread is gone, /proc is from another pid namespace, or the kernel
// lacks CONFIG_SCHED_INFO.
std::optional<uint64_t> read_task_runtime_ns(uint32_t tid);
// True when /proc/<tid> names the same threads the kernel's BPF helpers report, i.e. we
// run in the initial pid namespace ("NSpid:" in /proc/self/status has a single field).
bool in_initial_pid_namespace();
// Parses the "NSpid:" line of a /proc/<pid>/status text: true if it has one pid.
bool nspid_is_initial(std::string_view status_text);
// Parses the first field of a schedstat line ("<runtime ns> <wait ns> <slices>").
std::optional<uint64_t> parse_schedstat_runtime(std::string_view text);

}  // namespace antiphase::agent
