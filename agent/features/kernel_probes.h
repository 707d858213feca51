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

}  // namespace antiphase::agent::probes
