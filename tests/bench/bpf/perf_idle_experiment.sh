#!/usr/bin/env bash
# Where do CPU-clock samples land when a duty-cycled tenant shares a host with idle time?
# Run as root, on a quiet host:
#
#   tests/bench/bpf/perf_idle_experiment.sh [build-dir] [on_us] [off_us] [hz] [seconds]
#
# Starts a regular duty-cycle burner (bpf_duty_burner: on_us spinning, off_us asleep; it
# logs each burst's CLOCK_MONOTONIC start and end) and, with BUSY=1 (default), a busy
# loop next to it, as in issue 20. PIN=1 (default) pins the burner to CPU 1 and the busy
# loop to CPU 0; PIN=0 lets the scheduler place both. FIFO=1 runs them SCHED_FIFO, so on
# a busy host nothing preempts a burst (its sleeps are then filled by other tasks, not
# idle): that separates effects of the tenant's rhythm from effects of idle. Records on
# every CPU the event
# perf_sample mode uses: software cpu-clock with a fixed period of 1e9/hz ns
# (`perf record -a -k CLOCK_MONOTONIC`, so sample and burst times share a clock). Prints:
#  - the burner's CPU time (its /proc/PID/schedstat runtime) and what counting samples
#    makes of it (samples x period), i.e. the pre-fix perf_sample estimator;
#  - how many samples the idle task got, and how late samples fired against their
#    timer's grid (a timer that fell due in idle and fired when the CPU woke up would be
#    late, and would land at the very start of a burst);
#  - where in its bursts the burner was sampled (uniform if nothing is correlated);
#  - how often the burner ran on each CPU (from its samples).
set -euo pipefail
BUILD=${1:-build}
ON=${2:-5000}
OFF=${3:-5000}
HZ_=${4:-49}
SECS=${5:-10}
BUSY=${BUSY:-1}
PIN=${PIN:-1}
FIFO=${FIFO:-0}
BURNER=$BUILD/tests/bench/bpf/bpf_duty_burner
[[ $(id -u) == 0 ]] || { echo "needs root (perf record -a)" >&2; exit 1; }
[[ -x $BURNER ]] || { echo "$BURNER not built (cmake --build $BUILD --target bpf_duty_burner)" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf not installed (Debian: linux-perf)" >&2; exit 1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
PERIOD=$((1000000000 / HZ_))
# Run in the background as `on_cpu N cmd... &`: exec keeps $! the command's own pid.
on_cpu() {
  local cmd=("${@:2}")
  [[ $FIFO == 1 ]] && cmd=(chrt -f 1 "${cmd[@]}")
  if [[ $PIN == 1 ]]; then exec taskset -c "$1" "${cmd[@]}"; else exec "${cmd[@]}"; fi
}
runtime_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
idle_ticks() { awk '/^cpu /{print $5 + $6}' /proc/stat; }

echo "# cpu-clock samples of a duty-cycled burner ($(date -u +%FT%TZ))"
echo "host: $(uname -r), nproc=$(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "burner ${ON}/${OFF} us, busy loop: $BUSY, pinned: $PIN, SCHED_FIFO: $FIFO; cpu-clock period $PERIOD ns (${HZ_} Hz), ${SECS} s"
on_cpu 1 "$BURNER" "$ON" "$OFF" $((SECS + 60)) "$TMP/bursts" &
BURNER_PID=$!
PIDS+=("$BURNER_PID")
if [[ $BUSY == 1 ]]; then
  on_cpu 0 "$BURNER" 100000000 0 $((SECS + 60)) &
  PIDS+=($!)
fi
sleep 0.5
R0=$(runtime_ns "$BURNER_PID"); U0=$(uptime_s); I0=$(idle_ticks)
perf record -q -a -k CLOCK_MONOTONIC -e cpu-clock -c "$PERIOD" -o "$TMP/perf.data" -- sleep "$SECS" >/dev/null 2>&1
R1=$(runtime_ns "$BURNER_PID"); U1=$(uptime_s); I1=$(idle_ticks)
kill "$BURNER_PID"  # it writes its burst log on SIGTERM
wait "$BURNER_PID" || true
echo "host idle during the recording (/proc/stat): $(( (I1 - I0) * 100 / ($(getconf CLK_TCK) * SECS * $(nproc)) )) % of $(nproc) CPUs"
# The burner's CPU rate over the recording (perf's start and stop take a while, so the
# sampled window below is shorter; the rate is what carries over).
RATE=$(awk -v r="$((R1 - R0))" -v a="$U0" -v b="$U1" 'BEGIN {printf "%.6f", r / 1e9 / (b - a)}')
perf script -i "$TMP/perf.data" -F time,pid,cpu 2>/dev/null | python3 -c '
import bisect, sys
burner, period, burst_file, rate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
bursts = [tuple(map(int, l.split())) for l in open(burst_file)]
samples = []  # (time ns, pid, cpu)
for line in sys.stdin:
    pid, cpu, t = line.split()
    samples.append((round(float(t.rstrip(":")) * 1e9), int(pid), int(cpu.strip("[]"))))
t0, t1 = min(s[0] for s in samples), max(s[0] for s in samples)
win = t1 - t0
starts = [b[0] for b in bursts]
def burst_at(t):
    i = bisect.bisect_right(starts, t) - 1
    return bursts[i] if i >= 0 and bursts[i][0] <= t < bursts[i][1] else None
cpus = sorted({s[2] for s in samples})
nb = sum(1 for s in samples if s[1] == burner)
on = sum(max(0, min(e, t1) - max(s, t0)) for s, e in bursts)
runtime = rate * win
print(f"window {win/1e9:.2f} s: burner ran {rate:.3f} core (schedstat rate); its bursts took {on/win:.3f} of the wall time")
print(f"samples {len(samples)} of {len(cpus)} x {win//period + 1} timer periods; on the idle task: {sum(1 for s in samples if s[1] == 0)}")
print(f"counting estimate of the burner: {nb} samples = {nb*period/1e9:.3f} s, error {100*(nb*period/runtime-1):+.1f} %")
late = []
for c in cpus:
    ts = [s[0] for s in samples if s[2] == c]
    for t in ts:
        x = (t - ts[0]) % period
        late.append(x if x < period - 500000 else x - period)
late = sorted(map(abs, late))
print(f"lateness against each CPU timer grid: median {late[len(late)//2]/1e3:.0f} us, over 200 us: {sum(1 for x in late if x > 200000)} of {len(late)}")
bins = [0] * 5
for t, p, c in samples:
    b = burst_at(t)
    if b and p == burner: bins[min(4, 5 * (t - b[0]) // (b[1] - b[0]))] += 1
print(f"burner samples by position in their burst (fifths): {bins}")
print("burner samples per CPU: " + ", ".join(f"CPU {c}: {sum(1 for s in samples if s[1] == burner and s[2] == c)}" for c in cpus))
' "$BURNER_PID" "$PERIOD" "$TMP/bursts" "$RATE"
