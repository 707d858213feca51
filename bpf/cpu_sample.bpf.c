// SPDX-License-Identifier: GPL-2.0
// perf_sample mode for antiphased: a CPU-clock software event fires every
// sample_period_ns on each CPU; every sample that lands on a non-idle task charges one
// period to its cgroup's slot. Statistical, but its cost does not grow with the context
// switch rate. Deliberately free of CO-RE relocations (only stable helpers), so it loads
// on kernels without BTF, where cpu_account.bpf.c cannot.
#include "bpf/cpu_account_maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

// Set by user space before load; each sample is worth this much CPU time.
const volatile __u64 sample_period_ns = 1000000000ULL / 49;

// `current` is whoever the CPU-clock hrtimer interrupted.
SEC("perf_event")
int cpu_clock_sample(void *ctx) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (tid == 0) return 0;  // idle
  charge(slot_of(bpf_get_current_cgroup_id()), sample_period_ns);
  return 0;
}
