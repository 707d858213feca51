# Shared by tests/bench/agent/run.sh and tests/bench/api/run.sh (sourced, not run):
# start an antiphased with a throw-away config and read its CPU and memory from /proc.

# write_agent_config FILE DIR MODE TICK CGROUP_ROOT [RESCAN]: socket and state live
# under DIR; RESCAN (functions.rescan) defaults to the agent's default.
write_agent_config() {
  local file=$1 dir=$2 mode=$3 tick=$4 root=$5 rescan=${6:-}
  cat >"$file" <<TOML
[sampler]
mode = "$mode"
tick = "$tick"
[functions]
cgroup_roots = ["$root"]
depth = 1
${rescan:+rescan = \"$rescan\"}
[api]
socket = "$dir/api.sock"
[state]
dir = "$dir/state"
[admission]
capacity_cores = 2
[log]
level = "warn"
TOML
}

# start_agent BINARY CONFIG LOG: sets AGENT_PID; fails if /healthz does not answer in 15 s.
start_agent() {
  local bin=$1 cfg=$2 log=$3 sock i
  sock=$(awk -F'"' '/^socket = / {print $2}' "$cfg")
  "$bin" --config "$cfg" >"$log" 2>&1 &
  AGENT_PID=$!
  for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$AGENT_PID" 2>/dev/null; then
      echo "antiphased exited during start-up:" >&2; cat "$log" >&2; AGENT_PID=; return 1
    fi
    curl -sf --unix-socket "$sock" http://localhost/healthz >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "antiphased did not answer /healthz within 15 s:" >&2; cat "$log" >&2
  return 1
}

# stop_agent: SIGTERM, then SIGKILL after 10 s.
stop_agent() {
  [[ -n ${AGENT_PID:-} ]] || return 0
  kill -TERM "$AGENT_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=
}

# cpu_ticks PID: utime + stime (all threads) in clock ticks. Field 2 (comm) may hold
# spaces, so count from the closing parenthesis.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# status_kb PID FIELD: e.g. VmRSS, VmHWM in kB.
status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

# api_get SOCKET PATH
api_get() { curl -sf --unix-socket "$1" "http://localhost$2"; }
