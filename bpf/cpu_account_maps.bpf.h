#pragma once
// BPF-side definitions shared by cpu_account.bpf.c (sched_switch) and cpu_sample.bpf.c
// (perf sampling): the watched-cgroup table, the per-slot counters and their helpers.
// Each object gets its own instance of the maps.
#include "bpf/cpu_account.h"

#include <bpf/bpf_helpers.h>

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

