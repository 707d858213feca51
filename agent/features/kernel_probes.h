#pragma once
// One function per kernel capability the agent may use. Each really tries the thing
// (loads a trivial program, opens an event) rather than guessing from the version,
// and says in `detail` what it found or why it failed.
#include <string>

namespace antiphase::agent::probes {

struct ProbeResult {
  bool available = false;
  std::string detail;
};

ProbeResult btf();         // /sys/kernel/btf/vmlinux readable
ProbeResult cap_bpf();     // CAP_BPF (or CAP_SYS_ADMIN) in the effective set
ProbeResult tp_btf();      // a BPF_TRACE_RAW_TP program for sched_switch loads
ProbeResult raw_tp();      // a raw tracepoint program loads and attaches to sched_switch
ProbeResult perf_event();  // perf_event_open of a software CPU-clock event on CPU 0
ProbeResult bpf_stats();   // kernel.bpf_stats_enabled exists (detail: on/off)
ProbeResult cgroup2();     // a cgroup2 mount in /proc/self/mountinfo

// What the process holds of the capabilities eBPF needs. "Bounding" is what it could
// ever get: a capability missing there is forbidden by the container or by a
// CapabilityBoundingSet= drop-in, and no AmbientCapabilities= can grant it.
struct BpfCapabilities {
  bool bpf = false, perfmon = false, sys_admin = false;                      // effective
  bool bpf_bounding = false, perfmon_bounding = false, sys_admin_bounding = false;
  unsigned euid = 0;
  static BpfCapabilities of_this_process();
};
// The cap_bpf probe's verdict, telling "the process lacks the capability" (grant it)
// from "the bounding set forbids it" (the container must allow it).
ProbeResult judge_bpf_capabilities(const BpfCapabilities& caps);

// Why bpf() or perf_event_open() failed with `err`, when that is not about capabilities
// the process lacks: with CAP_BPF effective, EPERM comes from a seccomp filter, an LSM
// or the container. `seccomp_mode` is the Seccomp: field of /proc/self/status.
std::string denied_hint(int err, bool has_capabilities, int seccomp_mode);

}  // namespace antiphase::agent::probes
