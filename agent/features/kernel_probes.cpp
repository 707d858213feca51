#include "agent/features/kernel_probes.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "agent/features/handles.h"
#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent::probes {
namespace {

constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

using BtfPtr = LibbpfPtr<struct btf, btf__free>;

bool has_effective_cap(const __user_cap_data_struct (&data)[2], int cap) {
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

// "r0 = 0; exit": the smallest program the verifier accepts.
const struct bpf_insn kReturnZero[] = {
    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
    {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
};
constexpr size_t kReturnZeroLen = sizeof(kReturnZero) / sizeof(kReturnZero[0]);

// libbpf prints to stderr by default; a probe failing is an expected outcome.
struct QuietLibbpf {
  QuietLibbpf() : previous(libbpf_set_print(nullptr)) {}
  ~QuietLibbpf() { libbpf_set_print(previous); }
  libbpf_print_fn_t previous;
};

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The Seccomp: field of /proc/self/status (0 none, 1 strict, 2 filter), -1 if unknown.
int seccomp_mode() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Seccomp:", 0) == 0) return std::atoi(line.c_str() + 8);
  return -1;
}

// Why a bpf()/perf_event_open() call failed, with the hint that tells capability,
// bounding set and seccomp apart.
std::string failure(const std::string& what, int err) {
  const BpfCapabilities caps = BpfCapabilities::of_this_process();
  return what + ": " + os_error_text(err) + denied_hint(err, caps.sys_admin || (caps.bpf && caps.perfmon), seccomp_mode());
}

}  // namespace

ProbeResult btf() {
  struct stat st {};
  if (::stat(kVmlinuxBtf, &st) != 0) {
    return {false, std::string(kVmlinuxBtf) + ": " + os_error_text(errno) +
                       " (kernel built without CONFIG_DEBUG_INFO_BTF)"};
  }
  // Parse it, as libbpf will for CO-RE: an unreadable or corrupt file is no BTF at all.
  QuietLibbpf quiet;
  const BtfPtr parsed(btf__parse(kVmlinuxBtf, nullptr));
  if (!parsed) return {false, std::string(kVmlinuxBtf) + " is not valid BTF: " + os_error_text(errno)};
  const unsigned types = btf__type_cnt(parsed.get());
  return {true, std::string(kVmlinuxBtf) + " (" + std::to_string(types) + " types)"};
}

BpfCapabilities BpfCapabilities::of_this_process() {
  BpfCapabilities caps;
  caps.euid = ::geteuid();
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) == 0) {
    caps.bpf = has_effective_cap(data, kCapBpf);
    caps.perfmon = has_effective_cap(data, kCapPerfmon);
    caps.sys_admin = has_effective_cap(data, kCapSysAdmin);
  }
  caps.bpf_bounding = ::prctl(PR_CAPBSET_READ, kCapBpf, 0, 0, 0) == 1;
  caps.perfmon_bounding = ::prctl(PR_CAPBSET_READ, kCapPerfmon, 0, 0, 0) == 1;
  caps.sys_admin_bounding = ::prctl(PR_CAPBSET_READ, kCapSysAdmin, 0, 0, 0) == 1;
  return caps;
}

ProbeResult judge_bpf_capabilities(const BpfCapabilities& c) {
  const std::string euid = "euid " + std::to_string(c.euid);
  if (c.sys_admin) return {true, "CAP_SYS_ADMIN in effective set (" + euid + ")"};
  if (c.bpf && c.perfmon) return {true, "CAP_BPF and CAP_PERFMON in effective set"};
  if (c.bpf)
    return {true, std::string("CAP_BPF in effective set (tracing programs also need CAP_PERFMON, ") +
                      (c.perfmon_bounding ? "which the process lacks: grant it)"
                                          : "which the bounding set forbids: the container or a CapabilityBoundingSet= "
                                            "drop-in must allow it)")};
  if (!c.bpf_bounding && !c.sys_admin_bounding)
    return {false, "CAP_BPF is not in the capability bounding set (" + euid +
                       "): the container or a CapabilityBoundingSet= drop-in forbids it, so AmbientCapabilities= "
                       "cannot grant it; allow CAP_BPF and CAP_PERFMON there (e.g. systemd-nspawn "
                       "--capability=CAP_BPF,CAP_PERFMON, docker run --cap-add BPF --cap-add PERFMON)"};
  return {false, "the process lacks CAP_BPF (" + euid +
                     "; the bounding set allows it): run as root or grant CAP_BPF and CAP_PERFMON "
                     "(the packaged unit's AmbientCapabilities= does)"};
}

ProbeResult cap_bpf() { return judge_bpf_capabilities(BpfCapabilities::of_this_process()); }

std::string denied_hint(int err, bool has_capabilities, int seccomp_mode) {
  if (err != EPERM && err != EACCES) return {};
  if (!has_capabilities) return " (the process lacks CAP_BPF/CAP_PERFMON: see cap_bpf)";
  std::string hint = " (the process has the capabilities, so a seccomp filter, an LSM or the container refuses the call";
  if (seccomp_mode == 2) hint += "; this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status)";
  return hint + ")";
}

ProbeResult tp_btf() {
  QuietLibbpf quiet;
  const BtfPtr vmlinux(btf__load_vmlinux_btf());
  if (!vmlinux) return {false, "cannot load vmlinux BTF: " + os_error_text(errno)};
  const int type_id = btf__find_by_name_kind(vmlinux.get(), "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
  if (type_id <= 0) return {false, "vmlinux BTF has no btf_trace_sched_switch"};

  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
              .attach_btf_id = static_cast<__u32>(type_id));
  const UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "ap_probe_tpbtf", "GPL", kReturnZero,
                                    kReturnZeroLen, &opts));
  if (!prog) return {false, failure("loading a tp_btf/sched_switch program failed", errno)};
  return {true, "tp_btf/sched_switch program loads (BTF type id " + std::to_string(type_id) + ")"};
}

ProbeResult raw_tp() {
  QuietLibbpf quiet;
  const UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "ap_probe_rawtp", "GPL",
                                    kReturnZero, kReturnZeroLen, nullptr));
  if (!prog) return {false, failure("loading a raw_tp program failed", errno)};
  const UniqueFd link(bpf_raw_tracepoint_open("sched_switch", prog.get()));
  if (!link) return {false, failure("attaching raw_tp/sched_switch failed", errno)};
  return {true, "raw_tp/sched_switch attaches"};
}

ProbeResult perf_event() {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.sample_period = 1000000000ULL;
  attr.disabled = 1;
  const UniqueFd fd(static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
  const int err = errno;
  const std::string paranoid = read_first_line("/proc/sys/kernel/perf_event_paranoid");
  if (!fd)
    return {false, failure("perf_event_open(cpu-clock, cpu 0) failed", err) + " (perf_event_paranoid=" + paranoid + ")"};
  return {true, "software cpu-clock events open (perf_event_paranoid=" + paranoid + ")"};
}

ProbeResult bpf_stats() {
  const char* path = "/proc/sys/kernel/bpf_stats_enabled";
  std::ifstream in(path);
  if (!in) return {false, std::string(path) + " missing (kernel < 5.8)"};
  std::string value;
  in >> value;
  if (value == "1") return {true, "enabled: per-program run_time_ns/run_cnt are counted"};
  return {true, "supported but off (sysctl kernel.bpf_stats_enabled=1 to measure program cost)"};
}

ProbeResult cgroup2() {
  const auto mount = find_cgroup2_mount();
  if (!mount) return {false, "no cgroup2 filesystem in /proc/self/mountinfo"};
  return {true, *mount};
}

}  // namespace antiphase::agent::probes
