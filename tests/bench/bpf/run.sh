#!/usr/bin/env bash
# Whole-system cost of the eBPF samplers. Run as root:
#
#   tests/bench/bpf/run.sh [build-dir] [rounds] [pipe-loops]
#
# Section 2 runs the real agent (antiphased --config with sampler.mode set; raw_tp is
# forced with ANTIPHASE_FEATURE_TP_BTF=0) when $BUILD/agent/daemon/antiphased exists,
# else bpf_sampler_ticker; USE_AGENT=0 forces the ticker.
#
# perf_sample is the estimator that ships where the kernel has BTF (harvesting task
# runtimes); perf_count is perf_sample with ANTIPHASE_FEATURE_BTF=0, i.e. counting
# samples: the no-BTF fallback, and what perf_sample did everywhere before issue 20.
#
# PIPE_CPU=1 (default) pins both pipe tasks to one CPU, so every operation is two
# task-to-task switches and the figure is dominated by switch cost; PIPE_CPU= (empty)
# lets them float.
#
# 1. Program cost: with kernel.bpf_stats_enabled=1, load each sampler while
#    `perf bench sched pipe` hammers the scheduler and read run_time_ns/run_cnt.
# 2. Slowdown: `perf bench sched pipe` ops/s without a sampler and with each sampler
#    (bpf_stats off, so the stats' own clock reads are not charged), alternated in every
#    round; each sampler run is divided by the mean of the baselines that bracket it.
#    On a shared, noisy VM read the per-round ratios and the median, not one number.
set -euo pipefail

BUILD=${1:-build-bpf}
ROUNDS=${2:-5}
LOOPS=${3:-100000}
TICKER=$BUILD/tests/bench/bpf/bpf_sampler_ticker
FLOOR=$BUILD/tests/bench/bpf/bpf_empty_switch_probe
AGENT=$BUILD/agent/daemon/antiphased
USE_AGENT=${USE_AGENT-1}
[[ -x $AGENT ]] || USE_AGENT=0
IN_SECTION2=0
MODES=(tp_btf raw_tp perf_sample perf_count)

die() { echo "run.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (loads BPF programs, sets kernel.bpf_stats_enabled)"
[[ -x $TICKER ]] || die "$TICKER not built (cmake --build $BUILD --target bpf_sampler_ticker)"
command -v perf >/dev/null || die "perf not installed (Debian: linux-perf)"

TMP=$(mktemp -d)
PREV_STATS=$(sysctl -n kernel.bpf_stats_enabled)
TICKER_PID=
cleanup() {
  [[ -n $TICKER_PID ]] && kill "$TICKER_PID" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$PREV_STATS"
  rm -rf "$TMP"
}
trap cleanup EXIT

PIPE_CPU=${PIPE_CPU-1}
PIN=()
[[ -n $PIPE_CPU ]] && PIN=(taskset -c "$PIPE_CPU")
# Prints "<ops/s> <CPU ns per op>". The CPU figure (user+sys of the two pipe tasks per
# operation) includes the BPF program, which runs in the switching task's context, and
# is much less disturbed by other load on the host than the ops/s figure is.
pipe_run() {
  local out cpu
  out=$TMP/pipe.out
  cpu=$( { TIMEFORMAT='%U %S'; time "${PIN[@]}" perf bench sched pipe -l "$LOOPS" >"$out" 2>/dev/null; } 2>&1 )
  awk -v cpu="$cpu" -v loops="$LOOPS" '/ops\/sec/ {split(cpu, t, " "); printf "%s %.0f\n", $1, 1e9*(t[1]+t[2])/loops}' "$out"
}
pipe_ops() { pipe_run | cut -d' ' -f1; }

# The whole agent with one sampler mode; "ready" once its API socket is up.
start_agent() {  # mode out
  local dir=$TMP/agent-$1 sampler_mode=$1 overrides=()
  mkdir -p "$dir"
  case $1 in
    tp_btf) sampler_mode=sched_switch ;;
    raw_tp) sampler_mode=sched_switch overrides=(ANTIPHASE_FEATURE_TP_BTF=0) ;;
    perf_count) overrides=(ANTIPHASE_FEATURE_BTF=0) sampler_mode=perf_sample ;;
  esac
  printf '[sampler]\nmode = "%s"\n[api]\nsocket = "%s/api.sock"\n[state]\ndir = "%s/state"\n' \
    "$sampler_mode" "$dir" "$dir" >"$dir/antiphase.toml"
  env "${overrides[@]}" "$AGENT" --config "$dir/antiphase.toml" --log-level info >"$2" 2>&1 &
  TICKER_PID=$!
  for _ in $(seq 200); do
    if [[ -S $dir/api.sock ]]; then echo ready >>"$2"; return 0; fi
    kill -0 "$TICKER_PID" 2>/dev/null || die "antiphased ($1) failed: $(cat "$2")"
    sleep 0.05
  done
  die "antiphased ($1) did not become ready"
}

start_ticker() {  # mode -> sets TICKER_PID once the sampler is attached
  local out=$TMP/$1.out
  if [[ $IN_SECTION2 == 1 && $USE_AGENT == 1 && $1 != empty_tp_btf ]]; then
    start_agent "$1" "$out"
    return 0
  fi
  if [[ $1 == empty_tp_btf ]]; then "$FLOOR" >"$out" 2>&1 & else "$TICKER" --mode "$1" >"$out" 2>&1 & fi
  TICKER_PID=$!
  for _ in $(seq 100); do
    grep -q '^ready' "$out" 2>/dev/null && return 0
    kill -0 "$TICKER_PID" 2>/dev/null || die "ticker $1 failed: $(cat "$out")"
    sleep 0.05
  done
  die "ticker $1 did not become ready"
}

stop_ticker() {
  kill -TERM "$TICKER_PID"
  wait "$TICKER_PID" || true
  TICKER_PID=
}

stat_of() { awk -F= -v k="$2" '$1 == k {print $2}' "$TMP/$1.out"; }

echo "# antiphase BPF sampler overhead  ($(date -u +%FT%TZ))"
echo "host: $(uname -r), nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "command: PIPE_CPU=$PIPE_CPU $0 $BUILD $ROUNDS $LOOPS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

echo "## 1. BPF program cost (kernel.bpf_stats_enabled=1, under perf bench sched pipe -l $LOOPS)"
sysctl -qw kernel.bpf_stats_enabled=1
echo "empty_tp_btf is an empty program: its ns/run is the floor (stats clock reads + dispatch)"
echo "to subtract from the others to get what the accounting itself costs."
printf '%-12s %14s %16s %12s\n' mode run_cnt run_time_ns ns/run
COST_MODES=("${MODES[@]}")
[[ -x $FLOOR ]] && COST_MODES=(empty_tp_btf "${MODES[@]}")
for mode in "${COST_MODES[@]}"; do
  start_ticker "$mode"
  pipe_ops >/dev/null
  stop_ticker
  printf '%-12s %14s %16s %12s\n' "$mode" "$(stat_of "$mode" bpf_run_cnt)" \
    "$(stat_of "$mode" bpf_run_time_ns)" "$(stat_of "$mode" bpf_avg_ns_per_run)"
  if [[ -n $(stat_of "$mode" bpf_free_run_cnt) ]]; then
    printf '%-12s %14s %16s %12s\n' "  task_free" "$(stat_of "$mode" bpf_free_run_cnt)" "" \
      "$(stat_of "$mode" bpf_free_avg_ns_per_run)"
  fi
done
sysctl -qw kernel.bpf_stats_enabled=0
echo

IN_SECTION2=1
# empty_tp_btf: the fixed cost of having any program on sched_switch (dispatch, cache).
SLOW_MODES=("${MODES[@]}")
[[ -x $FLOOR ]] && SLOW_MODES=(empty_tp_btf "${MODES[@]}")
echo "## 2. perf bench sched pipe -l $LOOPS, bpf_stats off"
if [[ $USE_AGENT == 1 ]]; then
  echo "sampler process: antiphased --config (sampler.mode per column; defaults otherwise)"
else
  echo "sampler process: bpf_sampler_ticker (1 s reads of 64 host cgroups)"
fi
echo "ops/s (higher is better) and CPU ns per op (lower is better); ratios are against the"
echo "mean of the baselines run just before and after in the same round."
printf '%-5s %-24s' round "base ops (cpu before..after)"
for mode in "${SLOW_MODES[@]}"; do printf ' %24s' "$mode (ops cpu) ratios"; done
echo
declare -A OPS_RATIOS CPU_RATIOS
for r in $(seq "$ROUNDS"); do
  read -r b1_ops b1_cpu < <(pipe_run)
  declare -A ops=() cpu=()
  for mode in "${SLOW_MODES[@]}"; do
    start_ticker "$mode"
    read -r "ops[$mode]" "cpu[$mode]" < <(pipe_run)
    stop_ticker
  done
  read -r b2_ops b2_cpu < <(pipe_run)
  printf '%-5s %-24s' "$r" "$b1_ops..$b2_ops ($b1_cpu..$b2_cpu)"
  for mode in "${SLOW_MODES[@]}"; do
    o=$(awk -v s="${ops[$mode]}" -v a="$b1_ops" -v b="$b2_ops" 'BEGIN {printf "%.3f", 2*s/(a+b)}')
    c=$(awk -v s="${cpu[$mode]}" -v a="$b1_cpu" -v b="$b2_cpu" 'BEGIN {printf "%.3f", 2*s/(a+b)}')
    OPS_RATIOS[$mode]+="$o "
    CPU_RATIOS[$mode]+="$c "
    printf ' %7s %5s %5s %5s' "${ops[$mode]}" "${cpu[$mode]}" "$o" "$c"
  done
  echo
done
if [[ $USE_AGENT == 1 ]]; then
  echo
  echo "what each agent run chose:"
  for mode in "${MODES[@]}"; do echo "  $mode: $(grep -o 'sampler: .*' "$TMP/$mode.out" | head -1)"; done
fi
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
echo
echo "medians over $ROUNDS rounds (sampler / baseline):"
for mode in "${SLOW_MODES[@]}"; do
  mo=$(median "${OPS_RATIOS[$mode]}")
  mc=$(median "${CPU_RATIOS[$mode]}")
  printf '  %-12s throughput %s (slowdown %s %%)   CPU per op %s (+%s %%)\n' "$mode" "$mo" \
    "$(awk -v m="$mo" 'BEGIN {printf "%.1f", 100*(1-m)}')" "$mc" "$(awk -v m="$mc" 'BEGIN {printf "%.1f", 100*(m-1)}')"
done
