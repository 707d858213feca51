#!/usr/bin/env bash
# Replay speed on one core, one command:  tests/bench/replay/speed.sh [build-dir] [traces-dir]
# One what-if replay (antiphase only, fixed knob, no validation sweep) of the whole
# PlanetLab file: every line is read, gunzipped and parsed; 778 VMs are placed and judged.
# Prints samples (trace lines) per second end to end. Target: >= 1 M samples/s.
set -euo pipefail
BUILD=${1:-build}
TRACES=${2:-../shared/traces}
echo "# nproc=$(nproc) cpu=$(lscpu | sed -n 's/^Model name:[ ]*//p' | head -1)"
taskset -c 0 "$BUILD/agent/replay/antiphase-replay" "$TRACES/planetlab-2011.csv.gz" --capacity 8 \
  --train-start 2011-04-11 --train-end 2011-04-12 --test-start 2011-04-12 --test-end 2011-04-13 \
  --val-fit-start 2011-04-09 --val-fit-end 2011-04-10 --policy antiphase --knob 2.5 --json |
  python3 -c 'import json,sys; t=json.load(sys.stdin)["timing"]; print("%.2f M samples/s end to end (%.2f s; read %.2f M lines/s)" % (t["lines_per_s_total"]/1e6, t["total_s"], t["lines_per_s_read"]/1e6))'
taskset -c 0 "$BUILD/tests/bench/replay/bench_replay_parse" 2>/dev/null | tail -1
