#!/usr/bin/env bash
# Whole-system overhead of the agent with 500 function cgroups. Run as root:
#
#   tests/bench/agent/run.sh [build-dir]        (default: build)
#
# Creates <cgroup2 mount>/antiphase-bench-<pid>/fn-f0.scope .. fn-f499.scope (every
# SLEEPER_EVERY-th with a sleeping process, BURNERS of them with a bench_duty_burner at
# BURN_FRACTION of a core), then for each sampler mode (sched_switch, perf_sample,
# cgroup) starts antiphased with 1 s ticks, waits WARMUP s, and measures over WINDOW s:
#   CPU  = delta(utime+stime of all agent threads, /proc/PID/stat) / window, % of one core
#   RSS  = VmRSS at the end of the window, VmHWM (peak) over the whole run
# Targets: <= 1 % of one core, <= 32 MB RSS.
# Note: in the eBPF modes the BPF programs run in the context of the task being switched
# or sampled, so their cost is charged to that task, not to the agent; see
# tests/bench/bpf/run.sh for that cost.
# Everything is removed on exit, Ctrl-C or failure.
# Knobs (environment): FUNCTIONS=500 SLEEPER_EVERY=5 BURNERS=5 BURN_FRACTION=0.02
#   WARMUP=10 WINDOW=60 MODES="sched_switch perf_sample cgroup" TICK=1s
#   RESCAN=1s (functions.rescan; unset = the agent's default)  NO_BUILD=1 (use built binaries)
#   PERF=1: also `perf record --call-graph dwarf` the agent over each window and print
#   the heaviest inclusive symbols (perf's own sampling adds a little to the CPU figure).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" 2>/dev/null && pwd) || { echo "run.sh: build dir ${1:-$REPO/build} not found" >&2; exit 2; }
FUNCTIONS=${FUNCTIONS:-500}
SLEEPER_EVERY=${SLEEPER_EVERY:-5}
BURNERS=${BURNERS:-5}
BURN_FRACTION=${BURN_FRACTION:-0.02}
WARMUP=${WARMUP:-10}
WINDOW=${WINDOW:-60}
MODES=${MODES:-"sched_switch perf_sample cgroup"}
TICK=${TICK:-1s}
PERF=${PERF:-0}
RESCAN=${RESCAN:-}
source "$HERE/fn_cgroups.sh"
source "$HERE/agent_proc.sh"

die() { echo "run.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (creates cgroups, loads BPF programs)"
command -v python3 >/dev/null || die "python3 not found"
[[ $PERF == 0 ]] || command -v perf >/dev/null || die "PERF=1 needs perf (Debian: linux-perf)"

# print_profile PERF_DATA: where the agent's CPU went, inclusive % of its samples.
print_profile() {
  echo "   perf: $(perf report -i "$1" --stdio 2>/dev/null | awk '/^# Samples/ {print $3, "samples"; exit}'); inclusive % of agent samples:"
  perf report -i "$1" --children --stdio --sort symbol -g none --percent-limit 4 2>/dev/null | grep '%' |
    sed -E 's/[[:space:]-]+$//' |
    grep -vE '\] (0x[0-9a-f]+|clone3|start_thread|_start|main|__libc_start_[a-z_]+)( \(inlined\))?$|std::(__invoke|thread::_|_Function)' |
    cut -c1-150 | head -30 || true
}

if [[ ${NO_BUILD:-0} == 0 ]]; then
  echo "== building antiphased and bench_duty_burner in $BUILD"
  cmake --build "$BUILD" -j2 --target antiphased bench_duty_burner >/dev/null || die "build failed"
fi
AGENT_BIN=$BUILD/agent/daemon/antiphased
BURNER_BIN=$BUILD/tests/bench/agent/bench_duty_burner
for bin in "$AGENT_BIN" "$BURNER_BIN"; do [[ -x $bin ]] || die "$bin not built"; done

setup_bench_cgroups bench "$FUNCTIONS" "$SLEEPER_EVERY" "$BURNERS" "$BURNER_BIN" "$BURN_FRACTION"
[[ $(count_fn_cgroups "$PARENT") == "$FUNCTIONS" ]] || die "expected $FUNCTIONS cgroups"
echo "   $(cat "$PARENT"/*/cgroup.procs | wc -l) processes in them ($BURNERS burners at $BURN_FRACTION core)"

HZ=$(getconf CLK_TCK)
RESULTS=()
for mode in $MODES; do
  dir=$TMP/$mode
  mkdir -p "$dir"
  write_agent_config "$dir/antiphase.toml" "$dir" "$mode" "$TICK" "$NAME" "$RESCAN"
  echo "== mode $mode: starting agent, warm-up ${WARMUP}s, window ${WINDOW}s"
  if ! start_agent "$AGENT_BIN" "$dir/antiphase.toml" "$dir/agent.log"; then
    RESULTS+=("$(printf '%-12s  unavailable (agent did not start, see above)' "$mode")")
    stop_agent
    continue
  fi
  start_ticks=$(cpu_ticks "$AGENT_PID")
  sleep "$WARMUP"
  perf_pid=
  if [[ $PERF != 0 ]]; then
    perf record -q -F 499 --call-graph dwarf,16384 -p "$AGENT_PID" -o "$dir/perf.data" -- sleep "$WINDOW" 2>/dev/null &
    perf_pid=$!
  fi
  t0_ticks=$(cpu_ticks "$AGENT_PID")
  t0=$(date +%s.%N)
  sleep "$WINDOW"
  [[ -z $perf_pid ]] || wait "$perf_pid" || true
  t1_ticks=$(cpu_ticks "$AGENT_PID")
  t1=$(date +%s.%N)
  rss=$(status_kb "$AGENT_PID" VmRSS)
  hwm=$(status_kb "$AGENT_PID" VmHWM)
  threads=$(status_kb "$AGENT_PID" Threads)
  seen=$(api_get "$dir/api.sock" /v1/functions |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["functions"]), d.get("sampler","?"))') || seen="? ?"
  stats=$(api_get "$dir/api.sock" /v1/stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("agent /v1/stats: watched_cgroups", d.get("watched_cgroups"), "functions", d.get("functions"),
      "ticks", d.get("ticks"), "sampler", d.get("sampler", {}).get("mode"), d.get("sampler", {}).get("reason", ""))') ||
    stats="(GET /v1/stats failed)"
  memory=$(api_get "$dir/api.sock" /v1/functions | python3 -c '
import json, sys
d = json.load(sys.stdin)
fns = d["functions"]
print("memory measured for", sum(1 for f in fns if f.get("memory")), "of", len(fns), "functions, source", d.get("memory_source", "(agent without memory)"))') ||
    memory="(GET /v1/functions failed)"
  stop_agent
  line=$(python3 - "$mode" "$HZ" "$start_ticks" "$t0_ticks" "$t1_ticks" "$t0" "$t1" "$rss" "$hwm" "$threads" $seen <<'PY'
import sys
mode, hz, s, a, b, t0, t1, rss, hwm, threads, nfun, sampler = sys.argv[1:13]
hz = float(hz); window = float(t1) - float(t0)
cpu = 100.0 * (int(b) - int(a)) / hz / window
startup = (int(a) - int(s)) / hz
print(f"{mode:<12}  cpu {cpu:5.2f} % of one core over {window:.0f} s  rss {int(rss)/1024:5.1f} MB  hwm {int(hwm)/1024:5.1f} MB"
      f"  threads {threads}  functions {nfun} (sampler {sampler})  warm-up cpu {startup:.2f} s")
PY
)
  echo "   $line"
  echo "   $stats"
  echo "   $memory"
  [[ $PERF == 0 ]] || print_profile "$dir/perf.data" || true
  RESULTS+=("$line")
done

echo
echo "== summary ($FUNCTIONS function cgroups, tick $TICK, rescan ${RESCAN:-default}; targets <= 1 % of one core, <= 32 MB RSS)"
printf '%s\n' "${RESULTS[@]}"
