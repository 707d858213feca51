#!/usr/bin/env bash
# Whole-system replay benchmark on the shared public traces (never copied into the repo).
# One command:  tests/bench/replay/run_traces.sh [build-dir] [traces-dir] [out-dir]
# Runs every policy through the honest knob protocol on PlanetLab (04-11 -> 04-12, 8 cores)
# and Bitbrains 2013-07 (21 d -> 7 d, 16 cores) for several placement seeds, first- and
# best-fit, and prints one summary line per (trace, fit, seed, policy).
set -euo pipefail
BUILD=${1:-build}
TRACES=${2:-../shared/traces}
OUT=${3:-/tmp/antiphase-replay-bench}
SEEDS=${SEEDS:-"1 2 3"}
FITS=${FITS:-"first best"}
# Extra options for every run; default: the worst-run validation criterion the documented table uses.
read -r -a extra <<< "${EXTRA---val-worst-run}"
REPLAY="$BUILD/agent/replay/antiphase-replay"
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) nproc=$(nproc) cpu=$(lscpu | sed -n 's/^Model name:[ ]*//p' | head -1)"
pl=(--capacity 8 --train-start 2011-04-11 --train-end 2011-04-12 --test-start 2011-04-12 --test-end 2011-04-13
    # Four validation pairs from the earlier PlanetLab dates (learn one day, judge a later one).
    --val-pair 2011-04-09,2011-04-10,2011-04-11,2011-04-12 --val-pair 2011-04-03,2011-04-04,2011-04-09,2011-04-10
    --val-pair 2011-03-25,2011-03-26,2011-04-03,2011-04-04 --val-pair 2011-03-22,2011-03-23,2011-03-25,2011-03-26)
bb=(--capacity 16 --train-days 21 --test-days 7)
for fit in $FITS; do
  for seed in $SEEDS; do
    plot=()
    [[ $seed == 1 ]] && plot=(--plot-dir "$OUT/plots-planetlab-$fit")
    nice -n 10 taskset -c 0 "$REPLAY" "$TRACES/planetlab-2011.csv.gz" "${pl[@]}" "${extra[@]}" --fit "$fit" --seed "$seed" --json "${plot[@]}" \
      > "$OUT/planetlab-$fit-$seed.json"
    [[ $seed == 1 ]] && plot=(--plot-dir "$OUT/plots-bitbrains-$fit")
    nice -n 10 taskset -c 0 "$REPLAY" "$TRACES/bitbrains-rnd-2013-07.csv.gz" "${bb[@]}" "${extra[@]}" --fit "$fit" --seed "$seed" --json "${plot[@]}" \
      > "$OUT/bitbrains-$fit-$seed.json"
  done
done
python3 - "$OUT" <<'PY'
import glob, json, os, sys
from collections import defaultdict
rows = defaultdict(list)
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    j = json.load(open(f))
    trace = os.path.basename(f).split("-")[0]
    print(f"{os.path.basename(f)}: read {j['timing']['lines_per_s_read']/1e6:.2f} M lines/s, total {j['timing']['total_s']:.1f} s")
    for p in j["policies"]:
        t = p["test"]
        rows[(trace, j["fit"], p["policy"])].append((p["chosen_knob"], p["met_target_in_validation"], t["hosts"], t["overload_rate"]))
print(f"{'trace':10} {'fit':6} {'policy':17} {'knobs':22} {'hosts per seed':16} {'mean':>5} {'overload % per seed':28}")
for (trace, fit, pol), v in sorted(rows.items()):
    knobs = ",".join(f"{k:g}" for k, _, _, _ in v)
    hosts = ",".join(str(h) for _, _, h, _ in v)
    over = ",".join(f"{o*100:.3f}" for _, _, _, o in v)
    print(f"{trace:10} {fit:6} {pol:17} {knobs:22} {hosts:16} {sum(h for _,_,h,_ in v)/len(v):5.1f} {over:28}")
PY
