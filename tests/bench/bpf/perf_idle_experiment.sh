#!/usr/bin/env bash
# Where do CPU-clock samples land on a partly idle CPU? Run as root, on a quiet host:
#
#   tests/bench/bpf/perf_idle_experiment.sh [build-dir] [on_us] [off_us] [hz] [seconds] [cpu]
#
# Pins a regular duty-cycle burner (bpf_duty_burner: on_us spinning, off_us asleep; it
# logs each burst's CLOCK_MONOTONIC start and end) to one CPU and records, on that CPU,
# the event perf_sample mode uses: software cpu-clock with a fixed period of 1e9/hz ns
# (`perf record -k CLOCK_MONOTONIC`, so sample and burst times share a clock). Prints:
#  - the burner's true share (its bursts) and the count estimate (samples x period);
#  - how many samples fired while the CPU was idle, and how late samples were against
#    their timer's grid (a timer that fell due in idle and fired when the CPU woke up
#    would be late, and would land at the very start of a burst);
#  - where in its bursts the burner was sampled (uniform if nothing is correlated);
#  - how many grid points fell inside bursts versus how many the bursts' length predicts
#    (different when the duty cycle aliases with the sampling period).
set -euo pipefail
BUILD=${1:-build}
ON=${2:-5000}
OFF=${3:-5000}
HZ_=${4:-49}
SECS=${5:-10}
CPU=${6:-1}
BURNER=$BUILD/tests/bench/bpf/bpf_duty_burner
[[ $(id -u) == 0 ]] || { echo "needs root (perf record -C)" >&2; exit 1; }
[[ -x $BURNER ]] || { echo "$BURNER not built (cmake --build $BUILD --target bpf_duty_burner)" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf not installed (Debian: linux-perf)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PERIOD=$((1000000000 / HZ_))
echo "# cpu-clock samples of a duty-cycled burner ($(date -u +%FT%TZ))"
echo "host: $(uname -r), nproc=$(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "burner: ${ON} us on / ${OFF} us off, pinned to CPU $CPU; cpu-clock period $PERIOD ns (${HZ_} Hz), ${SECS} s"
taskset -c "$CPU" "$BURNER" "$ON" "$OFF" $((SECS + 2)) "$TMP/bursts" &
BURNER_PID=$!
sleep 0.5
IDLE0=$(awk -v c="cpu$CPU" '$1 == c {print $5 + $6}' /proc/stat)
perf record -q -k CLOCK_MONOTONIC -e cpu-clock -c "$PERIOD" -C "$CPU" -o "$TMP/perf.data" -- sleep "$SECS" \
  >/dev/null 2>&1
IDLE1=$(awk -v c="cpu$CPU" '$1 == c {print $5 + $6}' /proc/stat)
wait "$BURNER_PID" || true
echo "CPU $CPU idle during the recording (/proc/stat): $(( (IDLE1 - IDLE0) * 100 / ($(getconf CLK_TCK) * SECS) )) %"
perf script -i "$TMP/perf.data" -F time,pid 2>/dev/null | python3 -c '
import bisect, sys
burner, period, burst_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
bursts = [tuple(map(int, l.split())) for l in open(burst_file)]
samples = []
for line in sys.stdin:
    pid, t = line.split()
    samples.append((round(float(t.rstrip(":")) * 1e9), int(pid)))
t0, t1 = samples[0][0], samples[-1][0]
win = t1 - t0
starts = [b[0] for b in bursts]
def burst_at(t):
    i = bisect.bisect_right(starts, t) - 1
    return bursts[i] if i >= 0 and bursts[i][0] <= t < bursts[i][1] else None
on = sum(max(0, min(e, t1) - max(s, t0)) for s, e in bursts)
nb = sum(1 for t, p in samples if p == burner)
n0 = sum(1 for t, p in samples if p == 0)
print(f"window {win/1e9:.2f} s: burner bursts {on/1e9:.3f} s = {on/win:.3f} core (wall time of its bursts)")
print(f"samples {len(samples)} of {win//period + 1} timer periods: burner {nb}, idle task {n0}, other tasks {len(samples)-nb-n0}")
print(f"count estimate of the burner: {nb*period/1e9:.3f} s = {nb*period/win:.3f} core, error {100*(nb*period/on-1):+.1f} %")
late = sorted(((t - t0) % period) for t, p in samples)
late = [x if x < period - 500000 else x - period for x in late]
print(f"lateness against the timer grid: median {sorted(map(abs, late))[len(late)//2]/1e3:.0f} us, over 200 us: {sum(1 for x in late if x > 200000)}")
bins = [0] * 5
inside = 0
for t, p in samples:
    b = burst_at(t)
    if b and p == burner:
        bins[min(4, 5 * (t - b[0]) // (b[1] - b[0]))] += 1
        inside += 1
print(f"burner samples by position in their burst (fifths): {bins}; outside any burst: {nb - inside}")
grid_in = sum(1 for k in range(win // period + 1) if burst_at(t0 + k * period))
print(f"grid points inside bursts {grid_in}, bursts/period predicts {on/period:.0f}")
' "$BURNER_PID" "$PERIOD" "$TMP/bursts"
