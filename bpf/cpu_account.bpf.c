// SPDX-License-Identifier: GPL-2.0
// Per-cgroup CPU accounting for antiphased.
//
// sched_switch mode: at switch-in we record the incoming task's cgroup id and its
// se.sum_exec_runtime; at its switch-out the growth of sum_exec_runtime (which the
// scheduler updates just before the tracepoint) is charged to that cgroup's slot. No clock read,
// per-CPU maps only: no atomics, no cross-CPU cache traffic on the hot path. The slice
// still running on each CPU is added by user space at read time (cpu_state + the task's
// /proc/<tid>/schedstat), since a lone busy loop may not be switched out for seconds.
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

// Bumped by user space (written through the .bss map) after every change to `watched`;
// invalidates the per-CPU cgroup-id -> slot caches.
__u32 watched_generation = 0;

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

// slot_of() behind the per-CPU one-entry cache (saves the hash lookup on a hit).
static __always_inline __u32 cached_slot_of(struct cpu_state *st, __u64 cgroup_id) {
  __u32 generation = watched_generation;
  if (st->cached_cgroup_id == cgroup_id && st->cached_generation == generation) return st->cached_slot;
  __u32 slot = slot_of(cgroup_id);
  st->cached_cgroup_id = cgroup_id;
  st->cached_slot = slot;
  st->cached_generation = generation;
  return slot;
}

// Charges the outgoing task's slice and records the incoming one.
static __always_inline int on_switch(struct cpu_state *st, __u32 prev_pid, __u64 prev_runtime,
                                     __u32 next_pid, __u64 next_runtime, __u64 next_cgroup_id) {
  // pid check: the first switch after attach has no recorded start for prev.
  if (st->pid && st->pid == prev_pid && prev_runtime > st->start_runtime_ns)
    charge(cached_slot_of(st, st->cgroup_id), prev_runtime - st->start_runtime_ns);
  st->switches += 1;
  st->pid = next_pid;
  st->start_runtime_ns = next_runtime;
  st->cgroup_id = next_cgroup_id;
  return 0;
}

static __always_inline struct cpu_state *this_cpu_state(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cpu_state, &zero);
}

// Kernels >= 5.5 with BTF: direct (verifier-checked) pointer walks, no probe_read calls.
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next) {
  struct cpu_state *st = this_cpu_state();
  if (!st) return 0;
  __u32 next_pid = next->pid;
  __u64 next_cgroup_id = next_pid ? next->cgroups->dfl_cgrp->kn->id : 0;
  return on_switch(st, prev->pid, prev->se.sum_exec_runtime, next_pid, next->se.sum_exec_runtime,
                   next_cgroup_id);
}

// Reads a task's cgroup id through probe_read; handles the pre-5.5 kernfs id union.
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
  struct cpu_state *st = this_cpu_state();
  if (!st) return 0;
  __u32 prev_pid = (__u32)bpf_get_current_pid_tgid();  // current is still prev here
  __u32 next_pid = BPF_CORE_READ(next, pid);
  __u64 next_cgroup_id = next_pid ? task_cgroup_id_core(next) : 0;
  return on_switch(st, prev_pid, BPF_CORE_READ(prev, se.sum_exec_runtime), next_pid,
                   BPF_CORE_READ(next, se.sum_exec_runtime), next_cgroup_id);
}

// perf_sample mode: `current` is whoever the CPU-clock hrtimer interrupted.
SEC("perf_event")
int cpu_clock_sample(void *ctx) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (tid == 0) return 0;  // idle
  charge(slot_of(bpf_get_current_cgroup_id()), sample_period_ns);
  return 0;
}
