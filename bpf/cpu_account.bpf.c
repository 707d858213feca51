// SPDX-License-Identifier: GPL-2.0
// Per-cgroup CPU accounting for antiphased.
//
// sched_switch mode: at each switch the interval since the previous switch on this CPU
// is charged to the slot of the task that was switched in then (recorded at switch-in,
// because that is when the incoming task's cgroup is at hand). Per-CPU maps only, so
// the hot path has no atomics and no cross-CPU cache traffic. The interval still running
// on each CPU is added by user space at read time from `cpu_state`.
//
// perf_sample mode: a CPU-clock software event fires every sample_period_ns on each
// CPU; every sample that lands on a non-idle task charges one period to its cgroup.
//
// Slots: user space fills `watched` (cgroup id -> slot >= 1); slot 0 is "other".
#include "bpf/cpu_account.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// Set by user space before load (perf_sample mode); each sample is worth this much time.
const volatile __u64 sample_period_ns = 1000000000ULL / 49;

// Sizes are defaults; user space resizes with bpf_map__set_max_entries before load.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, CPU_ACCOUNT_DEFAULT_MAX_CGROUPS);
  __type(key, __u64);    // cgroup2 id (kernfs node id = directory inode)
  __type(value, __u32);  // slot in `usage`
} watched SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, CPU_ACCOUNT_DEFAULT_MAX_CGROUPS + 1);
  __type(key, __u32);
  __type(value, struct slot_usage);
} usage SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} cpu_state SEC(".maps");

static __always_inline __u32 slot_of(__u64 cgroup_id) {
  __u32 *slot = bpf_map_lookup_elem(&watched, &cgroup_id);
  return slot ? *slot : CPU_ACCOUNT_OTHER_SLOT;
}

static __always_inline void charge(__u32 slot, __u64 ns) {
  struct slot_usage *u = bpf_map_lookup_elem(&usage, &slot);
  if (!u) return;
  u->ns += ns;
  u->events += 1;
}

// Closes the interval of the task that was running and opens one for `next`.
static __always_inline int on_switch(int next_pid, __u64 next_cgroup_id) {
  __u32 zero = 0;
  struct cpu_state *st = bpf_map_lookup_elem(&cpu_state, &zero);
  if (!st) return 0;
  __u64 now = bpf_ktime_get_ns();
  if (st->last_ts && !st->idle) charge(st->slot, now - st->last_ts);
  if (next_pid == 0) {
    st->idle = 1;
    st->slot = CPU_ACCOUNT_OTHER_SLOT;
  } else {
    st->idle = 0;
    st->slot = slot_of(next_cgroup_id);
  }
  st->last_ts = now;
  return 0;
}

// Kernels >= 5.5 with BTF: direct (verifier-checked) pointer walks, no probe_read calls.
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next) {
  int pid = next->pid;
  if (pid == 0) return on_switch(0, 0);
  return on_switch(pid, next->cgroups->dfl_cgrp->kn->id);
}

// Reads next's cgroup id through probe_read; handles the pre-5.5 kernfs id union.
static __always_inline __u64 task_cgroup_id_core(struct task_struct *task) {
  struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
  if (bpf_core_type_exists(union kernfs_node_id)) {
    struct kernfs_node___pre55 *old_kn = (void *)kn;
    return BPF_CORE_READ(old_kn, id.id);
  }
  return BPF_CORE_READ(kn, id);
}

// Fallback for kernels without tp_btf (or without BTF for the tracepoint).
SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next) {
  int pid = BPF_CORE_READ(next, pid);
  if (pid == 0) return on_switch(0, 0);
  return on_switch(pid, task_cgroup_id_core(next));
}

// perf_sample mode: `current` is whoever the CPU-clock hrtimer interrupted.
SEC("perf_event")
int cpu_clock_sample(void *ctx) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (tid == 0) return 0;  // idle
  charge(slot_of(bpf_get_current_cgroup_id()), sample_period_ns);
  return 0;
}
