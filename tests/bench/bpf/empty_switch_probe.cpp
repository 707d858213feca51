// Attaches the empty sched_switch program until SIGINT/SIGTERM, then prints its kernel
// run statistics (run.sh uses it to measure the bpf_stats floor).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "bpf/empty_switch.skel.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
int quiet(enum libbpf_print_level, const char*, va_list) { return 0; }
}  // namespace

int main() {
  libbpf_set_print(quiet);
  empty_switch* skel = empty_switch__open_and_load();
  if (!skel || empty_switch__attach(skel) != 0) {
    std::fprintf(stderr, "cannot load/attach the empty tp_btf program (root? BTF?)\n");
    if (skel) empty_switch__destroy(skel);
    return 1;
  }
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  std::printf("ready mode=empty_tp_btf\n");
  std::fflush(stdout);
  while (!g_stop) ::pause();
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.empty_switch), &info, &len);
  std::printf("bpf_run_cnt=%llu\nbpf_run_time_ns=%llu\nbpf_avg_ns_per_run=%llu\n",
              static_cast<unsigned long long>(info.run_cnt), static_cast<unsigned long long>(info.run_time_ns),
              static_cast<unsigned long long>(info.run_cnt ? info.run_time_ns / info.run_cnt : 0));
  empty_switch__destroy(skel);
  return 0;
}
