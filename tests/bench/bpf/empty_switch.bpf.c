// SPDX-License-Identifier: GPL-2.0
// An empty tp_btf/sched_switch program: its run_time_ns/run_cnt under
// kernel.bpf_stats_enabled=1 is the measurement floor (the stats' own clock reads and
// the dispatch), to subtract from cpu_account's figure.
#include "bpf/vmlinux_min.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch, bool preempt, struct task_struct *prev, struct task_struct *next) { return 0; }
