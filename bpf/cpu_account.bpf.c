// SPDX-License-Identifier: GPL-2.0
// Per-cgroup CPU accounting for antiphased.
//
// sched_switch mode: at switch-in we record the incoming task (its address) and its
// se.sum_exec_runtime; at its switch-out the growth of sum_exec_runtime (which the
// scheduler updates just before the tracepoint) is charged to the slot of its cgroup at
// that moment. No clock read, per-CPU maps only: no atomics, no cross-CPU cache traffic.
//
// Not every switch reaches the tracepoint (some kernels skip it for some tasks; a
// program can miss an event), so a switch-out whose switch-in was not seen falls back to
// the fair class's own start-of-stint mark, se.prev_sum_exec_runtime: nothing is lost
// and nothing is charged twice.
//
// The slice still running on each CPU is read on demand by `running_task`, which user
// space runs *on* each CPU (BPF_PROG_TEST_RUN + BPF_F_TEST_RUN_ON_CPU, an IPI), since a
// lone busy loop may not be switched out for seconds.
//
// perf_sample mode, harvesting (cpu_clock_harvest + task_free below): a CPU-clock sample
// does not charge a fixed period to whoever it interrupts; it charges the interrupted
// task's runtime growth since that task was last harvested, and a task's last runtime is
// harvested when it is freed. Every nanosecond a task runs is charged once, so the result
// is the kernel's own figure, late by at most what a task ran since its last sample; the
// samples only decide *when* it is charged. Idle time is never charged, whatever the
// timer does during idle.
//
// Needs kernel BTF (CO-RE relocations). Without BTF, perf_sample falls back to
// cpu_sample.bpf.c, a separate object without CO-RE that counts samples.
//
// Slots: user space fills `watched` (cgroup id -> slot >= 1); slot 0 is "other".
#include "bpf/cpu_account_maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// Priorities below this are realtime or deadline tasks, which do not keep
// se.prev_sum_exec_runtime up to date.
#define MAX_RT_PRIO 100

// Bumped by user space (written through the .bss map) after every change to `watched`;
// invalidates the per-CPU cgroup-id -> slot caches.
__u32 watched_generation = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} cpu_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct running_task);
} running SEC(".maps");

// perf_sample harvesting: each task's se.sum_exec_runtime when it was last charged, by
// task_struct address (an identity, never dereferenced from here). task_free deletes
// entries; an LRU entry evicted earlier is indistinguishable from a task never seen,
// which harvest_from takes into account.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, CPU_ACCOUNT_DEFAULT_HARVEST_TASKS);
  __type(key, __u64);
  __type(value, __u64);
} harvested SEC(".maps");

// Set by user space before load (CLOCK_MONOTONIC ns): when the harvesting programs were
// loaded, and the age below which a task not in `harvested` cannot have been evicted
// from it (entries are added only by samples, at most hz x CPUs a second).
const volatile __u64 harvest_since_ns = 0;
const volatile __u64 fresh_task_ns = 1000000000ULL;

static __always_inline struct cpu_state *this_cpu_state(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cpu_state, &zero);
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

// Where the slice of a running task whose switch-in was not seen began, in its own
// runtime clock: the fair class's pick-time mark; `runtime` (an empty slice) otherwise.
static __always_inline __u64 unseen_slice_start(int prio, __u64 stint_mark, __u64 runtime) {
  return prio >= MAX_RT_PRIO && stint_mark <= runtime ? stint_mark : runtime;
}

static __always_inline void charge_slice(struct cpu_state *st, __u64 cgroup_id, __u64 runtime, __u64 start) {
  if (runtime > start) charge(cached_slot_of(st, cgroup_id), runtime - start);
}

static __always_inline int switch_in(struct cpu_state *st, struct task_struct *next, __u64 next_runtime) {
  st->switches += 1;
  st->task = (__u64)next;
  st->start_runtime_ns = next_runtime;
  return 0;
}

// Kernels >= 5.5 with BTF: direct (verifier-checked) pointer walks, no probe_read calls.
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next) {
  struct cpu_state *st = this_cpu_state();
  if (!st) return 0;
  if (prev->pid) {  // not the idle task
    __u64 runtime = prev->se.sum_exec_runtime;
    __u64 start;
    if (st->task == (__u64)prev) {
      start = st->start_runtime_ns;
    } else {
      st->unseen_switch_ins += 1;
      start = unseen_slice_start(prev->prio, prev->se.prev_sum_exec_runtime, runtime);
    }
    charge_slice(st, prev->cgroups->dfl_cgrp->kn->id, runtime, start);
  }
  return switch_in(st, next, next->se.sum_exec_runtime);
}

// Fallback for kernels with BTF but without tp_btf. Every field read is a
// bpf_probe_read_kernel (~25-65 ns here), so it reads as few as it can: `current` is
// still prev, whose pid and cgroup come from helpers without probe reads, and tasks are
// told apart by address: two reads per switch (the runtimes) in the common case.
SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next) {
  struct cpu_state *st = this_cpu_state();
  if (!st) return 0;
  if ((__u32)bpf_get_current_pid_tgid()) {  // not the idle task
    __u64 runtime = BPF_CORE_READ(prev, se.sum_exec_runtime);
    __u64 start;
    if (st->task == (__u64)prev) {
      start = st->start_runtime_ns;
    } else {
      st->unseen_switch_ins += 1;
      start = unseen_slice_start(BPF_CORE_READ(prev, prio), BPF_CORE_READ(prev, se.prev_sum_exec_runtime), runtime);
    }
    charge_slice(st, bpf_get_current_cgroup_id(), runtime, start);
  }
  return switch_in(st, next, BPF_CORE_READ(next, se.sum_exec_runtime));
}

// Never attached: user space runs it on one CPU at a time, where it interrupts whatever
// runs there, and reads the result from `running`. The runtime it reads is brought up
// to date at every scheduler tick, so the slice lags by at most one tick; it is charged
// exactly at switch-out.
SEC("raw_tp")
int running_task(void *ctx) {
  __u32 zero = 0;
  struct cpu_state *st = this_cpu_state();
  struct running_task *out = bpf_map_lookup_elem(&running, &zero);
  if (!st || !out) return 0;
  __u32 pid = (__u32)bpf_get_current_pid_tgid();
  out->switches = st->switches;
  out->pid = pid;
  out->in_flight_ns = 0;
  out->cgroup_id = 0;
  if (!pid) return 0;  // idle
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  __u64 runtime = BPF_CORE_READ(task, se.sum_exec_runtime);
  __u64 start = st->task == (__u64)task ? st->start_runtime_ns
                               : unseen_slice_start(BPF_CORE_READ(task, prio),
                                                    BPF_CORE_READ(task, se.prev_sum_exec_runtime), runtime);
  out->in_flight_ns = runtime > start ? runtime - start : 0;
  out->cgroup_id = bpf_get_current_cgroup_id();
  return 0;
}

// The runtime from which a task not in `harvested` is charged: all of it for a task
// forked since the sampler started and too young to have been evicted; otherwise its
// runtime so far is a baseline (it predates the sampler, or it was charged before its
// entry was evicted: charging it again would count it twice). The price: what an old
// task ran before its first sample, about one sampling period of its CPU time.
static __always_inline __u64 harvest_from(struct task_struct *task, __u64 runtime) {
  __u64 start = BPF_CORE_READ(task, start_time);
  return start >= harvest_since_ns && bpf_ktime_get_ns() - start < fresh_task_ns ? 0 : runtime;
}

// Charges `task` its runtime since it was last harvested; returns the map entry (NULL if
// there was none, then `runtime` is stored by the caller if it wants to keep the task).
static __always_inline __u64 *harvest(struct task_struct *task, __u64 cgroup_id, __u64 runtime) {
  __u64 key = (__u64)task;
  __u64 *seen = bpf_map_lookup_elem(&harvested, &key);
  __u64 from = seen ? *seen : harvest_from(task, runtime);
  if (runtime > from) charge(slot_of(cgroup_id), runtime - from);
  return seen;
}

// perf_sample with BTF: `current` is whatever the CPU-clock timer interrupted (never the
// idle task on kernels that skip idle samples; skipped here on the others). Its
// sum_exec_runtime lags by at most one tick; the rest is charged at its next harvest.
SEC("perf_event")
int cpu_clock_harvest(void *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  if (!(__u32)bpf_get_current_pid_tgid()) return 0;  // idle
  __u64 runtime = BPF_CORE_READ(task, se.sum_exec_runtime);
  __u64 *seen = harvest(task, bpf_get_current_cgroup_id(), runtime);
  if (seen) {
    *seen = runtime;
  } else {
    __u64 key = (__u64)task;
    bpf_map_update_elem(&harvested, &key, &runtime, BPF_ANY);
  }
  return 0;
}

// A task's last runtime, when it is freed (an RCU callback after its final switch-out,
// so sum_exec_runtime is final). task->cgroups still points at its css_set then: that
// is released only when the task_struct itself is.
SEC("raw_tp/sched_process_free")
int BPF_PROG(task_free, struct task_struct *task) {
  if (!BPF_CORE_READ(task, pid)) return 0;
  __u64 runtime = BPF_CORE_READ(task, se.sum_exec_runtime);
  if (harvest(task, BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id), runtime)) {
    __u64 key = (__u64)task;
    bpf_map_delete_elem(&harvested, &key);
  }
  return 0;
}
