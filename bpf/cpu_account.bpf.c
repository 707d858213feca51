// SPDX-License-Identifier: GPL-2.0
// Per-cgroup CPU accounting for antiphased.
//
// sched_switch mode: at switch-in we record the incoming task's pid and its
// se.sum_exec_runtime; at its switch-out the growth of sum_exec_runtime (which the
// scheduler updates just before the tracepoint) is charged to the slot of its cgroup at
// that moment. No clock read, per-CPU maps only: no atomics, no cross-CPU cache traffic.
// The slice still running on each CPU is added by user space at read time (cpu_state +
// the task's /proc/<tid>/schedstat and /proc/<tid>/cgroup), since a lone busy loop may
// not be switched out for seconds.
//
// Needs kernel BTF (CO-RE relocations). perf_sample mode lives in cpu_sample.bpf.c,
// a separate object without CO-RE, so it still loads on kernels without BTF.
//
// Slots: user space fills `watched` (cgroup id -> slot >= 1); slot 0 is "other".
#include "bpf/cpu_account_maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// Bumped by user space (written through the .bss map) after every change to `watched`;
// invalidates the per-CPU cgroup-id -> slot caches.
__u32 watched_generation = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} cpu_state SEC(".maps");

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

// True when prev's slice can be charged: its switch-in was seen (not the first switch
// after attach) and it is not the idle task.
static __always_inline bool slice_open(const struct cpu_state *st, __u32 prev_pid) {
  return st->pid && st->pid == prev_pid;
}

// Charges the outgoing task's slice to prev_cgroup_id and records the incoming task.
static __always_inline int on_switch(struct cpu_state *st, __u32 prev_pid, __u64 prev_runtime,
                                     __u64 prev_cgroup_id, __u32 next_pid, __u64 next_runtime) {
  if (slice_open(st, prev_pid) && prev_runtime > st->start_runtime_ns)
    charge(cached_slot_of(st, prev_cgroup_id), prev_runtime - st->start_runtime_ns);
  st->switches += 1;
  st->pid = next_pid;
  st->start_runtime_ns = next_runtime;
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
  __u32 prev_pid = prev->pid;
  __u64 prev_cgroup_id = slice_open(st, prev_pid) ? prev->cgroups->dfl_cgrp->kn->id : 0;
  return on_switch(st, prev_pid, prev->se.sum_exec_runtime, prev_cgroup_id, next->pid,
                   next->se.sum_exec_runtime);
}

// Fallback for kernels with BTF but without tp_btf. Every field read is a
// bpf_probe_read_kernel (~25-65 ns here), so it reads as few as it can: `current` is
// still prev, whose pid and cgroup come from helpers without probe reads.
SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next) {
  struct cpu_state *st = this_cpu_state();
  if (!st) return 0;
  __u32 prev_pid = (__u32)bpf_get_current_pid_tgid();
  __u64 prev_cgroup_id = slice_open(st, prev_pid) ? bpf_get_current_cgroup_id() : 0;
  return on_switch(st, prev_pid, BPF_CORE_READ(prev, se.sum_exec_runtime), prev_cgroup_id,
                   BPF_CORE_READ(next, pid), BPF_CORE_READ(next, se.sum_exec_runtime));
}
