#pragma once
// Minimal CO-RE view of the kernel for cpu_account.bpf.c.
//
// Only the types and fields the programs touch are declared, and every struct is
// marked preserve_access_index, so libbpf relocates each field access against the
// running kernel's BTF at load time. The build therefore needs neither the build
// host's /sys/kernel/btf/vmlinux nor kernel headers. Field order and padding here are
// irrelevant: offsets come from the target kernel.

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

// Constants from include/uapi/linux/bpf.h (stable ABI).
enum bpf_map_type {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_PERCPU_HASH = 5,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_LRU_HASH = 9,
};
enum {
  BPF_ANY = 0,
  BPF_NOEXIST = 1,
  BPF_EXIST = 2,
};

// bpf_helper_defs.h names these in prototypes; declaring them here keeps them at file
// scope (otherwise clang warns that each is only visible inside its prototype).
struct __sk_buff; struct bpf_dynptr; struct bpf_fib_lookup; struct bpf_map;
struct bpf_perf_event_data; struct bpf_perf_event_value; struct bpf_pidns_info;
struct bpf_redir_neigh; struct bpf_sk_lookup; struct bpf_sock; struct bpf_sock_addr;
struct bpf_sock_ops; struct bpf_sock_tuple; struct bpf_spin_lock; struct bpf_sysctl;
struct bpf_tcp_sock; struct bpf_timer; struct bpf_tunnel_key; struct bpf_xfrm_state;
struct btf_ptr; struct file; struct in6_addr; struct inode; struct iphdr;
struct ipv6_sr_hdr; struct ipv6hdr; struct linux_binprm; struct mptcp_sock; struct path;
struct perf_branch_entry; struct pt_regs; struct seq_file; struct sk_buff;
struct sk_msg_md; struct sk_reuseport_md; struct sock; struct sockaddr; struct socket;
struct tcp6_sock; struct tcp_request_sock; struct tcp_sock; struct tcp_timewait_sock;
struct tcphdr; struct udp6_sock; struct unix_sock; struct vm_area_struct; struct xdp_buff;
struct xdp_md;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
#endif

// Since Linux 5.5 the kernfs node id is a plain u64 (what bpf_get_current_cgroup_id
// returns). Only the tp_btf program (>= 5.5 anyway) reads it.
struct kernfs_node {
  __u64 id;
};

struct cgroup {
  struct kernfs_node *kn;
};

struct css_set {
  struct cgroup *dfl_cgrp;  // the task's cgroup on the unified (cgroup2) hierarchy
};

struct sched_entity {
  __u64 sum_exec_runtime;       // ns on CPU; brought up to date before sched_switch fires
  __u64 prev_sum_exec_runtime;  // sum_exec_runtime when the fair class last picked the task
};

struct task_struct {
  int pid;   // thread id; 0 is the per-CPU idle task
  int prio;  // < 100: realtime or deadline; 100..139: the fair class
  struct sched_entity se;
  struct css_set *cgroups;
  __u64 start_time;  // CLOCK_MONOTONIC ns at fork
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif
