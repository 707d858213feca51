// Burns CPU in a regular duty cycle: ON_US of spinning, then OFF_US of sleep, for SECONDS.
// perf_idle_experiment.sh runs it pinned to one CPU to see where CPU-clock samples land.
// With LOG, writes each burst's CLOCK_MONOTONIC start and end (ns) there on exit, also
// when stopped early by SIGTERM or SIGINT.
//
//   bpf_duty_burner ON_US OFF_US SECONDS [LOG]
#include <signal.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

void spin_until(uint64_t deadline_ns) {
  volatile uint64_t sink = 0;
  while (now_ns() < deadline_ns && !g_stop) {
    for (int i = 0; i < 100; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s ON_US OFF_US SECONDS [LOG]\n", argv[0]);
    return 2;
  }
  const uint64_t on_ns = std::strtoull(argv[1], nullptr, 10) * 1000;
  const uint64_t off_ns = std::strtoull(argv[2], nullptr, 10) * 1000;
  const uint64_t end = now_ns() + static_cast<uint64_t>(std::atof(argv[3]) * 1e9);
  std::vector<uint64_t> bursts;
  bursts.reserve(2 * (end - now_ns()) / (on_ns + off_ns + 1) + 16);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  while (now_ns() < end && !g_stop) {
    const uint64_t start = now_ns();
    spin_until(start + on_ns);
    bursts.push_back(start);
    bursts.push_back(now_ns());
    const timespec pause{static_cast<time_t>(off_ns / 1000000000ULL), static_cast<long>(off_ns % 1000000000ULL)};
    ::nanosleep(&pause, nullptr);
  }
  if (argc == 5) {
    FILE* log = std::fopen(argv[4], "w");
    if (!log) return 1;
    for (size_t i = 0; i + 1 < bursts.size(); i += 2) {
      std::fprintf(log, "%llu %llu\n", static_cast<unsigned long long>(bursts[i]),
                   static_cast<unsigned long long>(bursts[i + 1]));
    }
    std::fclose(log);
  }
  return 0;
}
