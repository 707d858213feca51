#!/usr/bin/env bash
# Latency and throughput of POST /v1/admit over the agent's Unix socket. Run as root:
#
#   tests/bench/api/run.sh [build-dir]        (default: build)
#
# Builds antiphased and bench_api_client (raw AF_UNIX socket, HTTP/1.1 keep-alive: one
# persistent connection per client thread, no libcurl), creates FUNCTIONS function
# cgroups fn-f<i>.scope under a temp parent in the cgroup2 mount (every SLEEPER_EVERY-th
# with a sleeping process, a few with small burners) and starts the agent on them
# (cgroup sampler, 1 s tick, temp socket and state dir). Shapes are learned live for
# SETTLE seconds, not pre-seeded: every candidate is a function the host knows, with
# low confidence (so the policy sizes it by its observed peak).
# Then, closed loop, candidates rotating over the 500 functions:
#   0. baseline:   GET /healthz, 1 client thread (socket + HTTP server + scheduling only)
#   1. latency:    POST /v1/admit, 1 client thread,  SECONDS s  -> p50/p90/p99/max
#   2. throughput: POST /v1/admit, 2 client threads, SECONDS s  -> decisions/s
# plus the agent's own CPU over each run (utime+stime from /proc/PID/stat), also per
# request.
# Targets: p99 <= 1 ms, >= 10k decisions/s.
# PERF=1 also records `perf record --call-graph dwarf` of the agent during a 1-thread
# admit run and prints where the agent's time goes (inclusive % of its samples).
# Knobs: FUNCTIONS=500 SLEEPER_EVERY=10 BURNERS=3 BENCH_SECONDS=10 SETTLE=5 PERF=0
#   NO_BUILD=1 uses the binaries already in the build dir.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" 2>/dev/null && pwd) || { echo "run.sh: build dir ${1:-$REPO/build} not found" >&2; exit 2; }
FUNCTIONS=${FUNCTIONS:-500}
SLEEPER_EVERY=${SLEEPER_EVERY:-10}
BURNERS=${BURNERS:-3}
SECONDS_EACH=${BENCH_SECONDS:-10}
SETTLE=${SETTLE:-5}
PERF=${PERF:-0}
source "$REPO/tests/bench/agent/fn_cgroups.sh"
source "$REPO/tests/bench/agent/agent_proc.sh"

die() { echo "run.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (creates cgroups)"
[[ $PERF == 0 ]] || command -v perf >/dev/null || die "PERF=1 needs perf (Debian: linux-perf)"

if [[ ${NO_BUILD:-0} == 0 ]]; then
  echo "== building antiphased, bench_api_client and bench_duty_burner in $BUILD"
  cmake --build "$BUILD" -j2 --target antiphased bench_api_client bench_duty_burner >/dev/null || die "build failed"
fi
AGENT_BIN=$BUILD/agent/daemon/antiphased
CLIENT=$BUILD/tests/bench/api/bench_api_client
BURNER_BIN=$BUILD/tests/bench/agent/bench_duty_burner
for bin in "$AGENT_BIN" "$CLIENT" "$BURNER_BIN"; do [[ -x $bin ]] || die "$bin not built"; done

setup_bench_cgroups bench-api "$FUNCTIONS" "$SLEEPER_EVERY" "$BURNERS" "$BURNER_BIN" 0.02

write_agent_config "$TMP/antiphase.toml" "$TMP" cgroup 1s "$NAME"
start_agent "$AGENT_BIN" "$TMP/antiphase.toml" "$TMP/agent.log" || die "agent did not start"
SOCK=$TMP/api.sock
sleep "$SETTLE"
known=$(api_get "$SOCK" /v1/functions | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["functions"]))') || known=0
echo "== agent pid $AGENT_PID knows $known functions after ${SETTLE}s"
[[ $known -ge $FUNCTIONS ]] || echo "warning: expected $FUNCTIONS functions" >&2
echo "   sample decision: $(curl -sf --unix-socket "$SOCK" -d '{"function":"f1","instances":1,"mean_cores":0.05,"peak_cores":0.2}' http://localhost/v1/admit | head -c 400)"

HZ=$(getconf CLK_TCK)
# run_client LABEL THREADS [client options...]: prints the client's summary and the
# agent's CPU (whole run including the 1 s warm-up, so per-request CPU is approximate).
run_client() {
  local label=$1 threads=$2 a b t0 t1 rate
  shift 2
  a=$(cpu_ticks "$AGENT_PID"); t0=$(date +%s.%N)
  "$CLIENT" --socket "$SOCK" --threads "$threads" --seconds "$SECONDS_EACH" --warmup 1 --functions "$FUNCTIONS" "$@" \
    | tee "$TMP/$label.out" || echo "   (bench_api_client reported errors, see above)"
  b=$(cpu_ticks "$AGENT_PID"); t1=$(date +%s.%N)
  rate=$(sed -n 's/.*"per_second":\([0-9]*\).*/\1/p' "$TMP/$label.out")
  awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v hz="$HZ" -v rate="${rate:-0}" 'BEGIN {
    cpu = (b - a) / hz / (t1 - t0)
    printf "   agent CPU during the run: %.0f %% of one core", 100 * cpu
    if (rate > 0) printf ", ~%.0f us of agent CPU per request", 1e6 * cpu / rate
    printf "\n"}'
}

echo "== 0. baseline GET /healthz, 1 client thread, ${SECONDS_EACH}s"
run_client healthz 1 --get /healthz

echo "== 1. latency, 1 client thread, ${SECONDS_EACH}s"
run_client latency 1
echo "== 2. throughput, 2 client threads, ${SECONDS_EACH}s"
run_client throughput 2

if [[ $PERF != 0 ]]; then
  echo "== 3. perf record --call-graph dwarf of the agent during a 1-thread admit run"
  perf record -q -F 999 --call-graph dwarf,16384 -p "$AGENT_PID" -o "$TMP/perf.data" -- sleep "$SECONDS_EACH" 2>/dev/null &
  perf_pid=$!
  "$CLIENT" --socket "$SOCK" --threads 1 --seconds "$SECONDS_EACH" --warmup 0 --functions "$FUNCTIONS" | head -1 || true
  wait "$perf_pid" || true
  echo "   self time by object:"
  perf report -i "$TMP/perf.data" --no-children --stdio --sort dso -g none 2>/dev/null | grep '%' | head -8 || true
  echo "   inclusive time of the request path (% of all agent samples):"
  perf report -i "$TMP/perf.data" --children --stdio --sort symbol -g none 2>/dev/null | grep '%' |
    sed -E 's/[[:space:]-]+$//' |
    grep -E 'Impl::on_request$|Agent::admit$|AdmissionPolicy::decide$|json_response$|admission::to_json|candidate_from_request$|parse_json_body$|host_view_locked$|Agent::tick$|\] __libc_sendmsg|\] __libc_recv|\] epoll_wait|__memset|\] malloc$|_int_free$|finish_task_switch' |
    cut -c1-140 || true
fi

echo "== agent /v1/stats decisions: $(api_get "$SOCK" /v1/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["decisions"], "api", d["api"])')"
echo
echo "== summary (targets: p99 <= 1000 us with 1 client, >= 10000 decisions/s with 2 clients)"
grep -h '^RESULT' "$TMP/latency.out" | sed 's/^/latency    /'
grep -h '^RESULT' "$TMP/throughput.out" | sed 's/^/throughput /'
