// A small, steady CPU consumer for the whole-system benchmarks: burns FRACTION of every
// 100 ms period and sleeps the rest, so a few of the 500 benchmark functions have real,
// non-zero usage without loading the shared 2-core VM.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  const double fraction = argc == 2 ? std::strtod(argv[1], nullptr) : -1.0;
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    std::fprintf(stderr, "usage: bench_duty_burner FRACTION   (0 < FRACTION <= 1, of one core)\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(100);
  const auto busy = std::chrono::duration_cast<Clock::duration>(period * fraction);
  auto next = Clock::now();
  volatile unsigned long sink = 0;
  for (;;) {
    const auto burn_until = next + busy;
    while (Clock::now() < burn_until) sink = sink + 1;
    next += period;
    std::this_thread::sleep_until(next);
  }
}
