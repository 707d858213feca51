#pragma once
// Layouts shared by cpu_account.bpf.c and user space (agent/sampler/). Plain C, fixed-
// width fields only, so the BPF side (clang -target bpf) and the C++ side agree.
#ifdef __BPF__
#include "bpf/vmlinux_min.h"
typedef __u64 cpu_account_u64;
typedef __u32 cpu_account_u32;
#else
#include <stdint.h>
typedef uint64_t cpu_account_u64;
typedef uint32_t cpu_account_u32;
#endif

// Slot 0 collects every on-CPU interval whose cgroup is not watched ("other").
#define CPU_ACCOUNT_OTHER_SLOT 0
// Default number of watched cgroups; user space may resize the maps before load.
#define CPU_ACCOUNT_DEFAULT_MAX_CGROUPS 4096

// Per-CPU accumulated CPU time of one slot.
struct slot_usage {
  cpu_account_u64 ns;      // on-CPU time charged to the slot
  cpu_account_u64 events;  // sched_switch slices or perf samples charged
};

// Per-CPU state of the sched_switch accounting: who is running since when.
struct cpu_state {
  cpu_account_u64 last_ts;  // bpf_ktime_get_ns() of the last switch-in (0: none seen yet)
  cpu_account_u32 slot;     // slot of the task switched in at last_ts
  cpu_account_u32 idle;     // 1 when the idle task (pid 0) was switched in
};
