// Why eBPF is unavailable, told apart the way an operator needs it (issue 19): "the
// process lacks CAP_BPF" (grant it in the unit) versus "the bounding set forbids it"
// (the container must allow it) versus "a seccomp filter refuses bpf()". The real
// cases run in a child that takes the capability away, or installs the filter.
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <functional>
#include <string>

#include "agent/features/kernel_probes.h"

namespace antiphase::agent::probes {
namespace {

constexpr int kCapSysAdmin = 21, kCapPerfmon = 38, kCapBpf = 39;
constexpr uid_t kNobody = 65534;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// Runs `probe` in a forked child and returns what it returned ("child failed" if the
// child could not set itself up).
std::string in_child(const std::function<std::string()>& probe) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const std::string text = probe();
    const bool ok = ::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::string text;
  char buf[1024];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? text : "child failed";
}

bool become_nobody() { return ::setresgid(kNobody, kNobody, kNobody) == 0 && ::setresuid(kNobody, kNobody, kNobody) == 0; }

TEST(CapabilityProbe, JudgesMissingCapabilityApartFromForbiddenOne) {
  BpfCapabilities lacking;  // nothing effective, everything allowed by the bounding set
  lacking.bpf_bounding = lacking.perfmon_bounding = lacking.sys_admin_bounding = true;
  lacking.euid = 1000;
  auto r = judge_bpf_capabilities(lacking);
  EXPECT_FALSE(r.available);
  EXPECT_TRUE(has(r.detail, "the process lacks CAP_BPF")) << r.detail;

  BpfCapabilities forbidden;  // a container that leaves CAP_BPF out of the bounding set
  r = judge_bpf_capabilities(forbidden);
  EXPECT_FALSE(r.available);
  EXPECT_TRUE(has(r.detail, "not in the capability bounding set")) << r.detail;
  EXPECT_FALSE(has(r.detail, "lacks")) << r.detail;

  BpfCapabilities bpf_only;
  bpf_only.bpf = bpf_only.bpf_bounding = true;
  r = judge_bpf_capabilities(bpf_only);
  EXPECT_TRUE(r.available);
  EXPECT_TRUE(has(r.detail, "CAP_PERFMON, which the bounding set forbids")) << r.detail;
}

TEST(CapabilityProbe, DeniedHintBlamesSeccompOnlyWhenCapabilitiesAreThere) {
  EXPECT_TRUE(has(denied_hint(EPERM, true, 2), "seccomp filter (Seccomp: 2"));
  EXPECT_TRUE(has(denied_hint(EPERM, false, 2), "lacks CAP_BPF/CAP_PERFMON"));
  EXPECT_EQ(denied_hint(EINVAL, true, 2), "") << "not a permission problem";
}

TEST(CapabilityProbe, ARealProcessWithoutTheCapabilityIsToldToGrantIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  const std::string detail = in_child([] { return become_nobody() ? cap_bpf().detail : std::string("setuid failed"); });
  EXPECT_TRUE(has(detail, "the process lacks CAP_BPF (euid 65534")) << detail;
}

TEST(CapabilityProbe, ARealProcessWhoseBoundingSetForbidsItIsToldTheContainerMust) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to change the bounding set";
  const std::string detail = in_child([] {
    for (int cap : {kCapBpf, kCapPerfmon, kCapSysAdmin})
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return std::string("PR_CAPBSET_DROP failed");
    return become_nobody() ? cap_bpf().detail : std::string("setuid failed");
  });
  EXPECT_TRUE(has(detail, "CAP_BPF is not in the capability bounding set")) << detail;
}

TEST(CapabilityProbe, ASeccompFilterThatRefusesBpfIsNamed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF) to tell seccomp from capabilities";
  const std::string detail = in_child([] {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
      return std::string("seccomp setup failed");
    return raw_tp().detail;
  });
  EXPECT_TRUE(has(detail, "Operation not permitted")) << detail;
  EXPECT_TRUE(has(detail, "a seccomp filter, an LSM or the container refuses the call")) << detail;
  EXPECT_TRUE(has(detail, "Seccomp: 2")) << detail;
}

}  // namespace
}  // namespace antiphase::agent::probes
