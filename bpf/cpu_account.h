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
// Tasks whose last harvested runtime perf_sample mode remembers (LRU beyond that).
#define CPU_ACCOUNT_DEFAULT_HARVEST_TASKS 16384

// Per-CPU accumulated CPU time of one slot.
struct slot_usage {
  cpu_account_u64 ns;      // on-CPU time charged to the slot
  cpu_account_u64 events;  // sched_switch slices or perf samples charged
};

// Per-CPU state of the sched_switch accounting: which task is on this CPU and how much
// CPU time it had consumed when it was switched in. Time is taken from the task's own
// se.sum_exec_runtime (updated by the scheduler right before sched_switch fires), not
// from a clock read: exact, the same figure cpu.stat is built from, and it saves the
// ~70 ns bpf_ktime_get_ns() costs on this class of VM.
// The slice is charged at switch-out to the task's cgroup *then* (a task moved into a
// function cgroup while running is credited there), so the cgroup is not recorded here;
// the still-running slice is read on the CPU itself by the running_task program.
// The running task is identified by its task_struct address, used as an identity only
// (never dereferenced): the raw_tp fallback gets it without a probe read, where a pid
// would cost one.
// Some switches are never traced (a kernel may skip the tracepoint for some tasks, and
// a program can miss an event), so `task` can be stale: a switch-out whose switch-in was
// not seen is charged from the fair class's own start-of-stint mark instead
// (se.prev_sum_exec_runtime) and counted in unseen_switch_ins.
// The cached_* fields are a one-entry cache of the last cgroup id -> slot lookup, valid
// while cached_generation equals watched_generation.
struct cpu_state {
  cpu_account_u64 start_runtime_ns;   // running task's se.sum_exec_runtime at switch-in
  cpu_account_u64 switches;           // switches seen on this CPU (detects torn reads)
  cpu_account_u64 task;               // running task's task_struct address; 0 = none seen yet
  cpu_account_u64 cached_cgroup_id;
  cpu_account_u32 cached_slot;
  cpu_account_u32 cached_generation;
  cpu_account_u64 unseen_switch_ins;  // switch-outs whose switch-in was not traced
};

// What is running on one CPU right now, as seen from that CPU (the running_task program,
// run there by BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU, interrupts the task).
// User space adds in_flight_ns to the slot of cgroup_id: the running slice, which is
// charged only when the task is switched out.
struct running_task {
  cpu_account_u64 switches;     // cpu_state.switches at the time (detects torn reads)
  cpu_account_u64 in_flight_ns; // on-CPU time of the running slice not yet charged
  cpu_account_u64 cgroup_id;    // the running task's cgroup2 id
  cpu_account_u32 pid;          // 0: idle
  cpu_account_u32 reserved;
};
