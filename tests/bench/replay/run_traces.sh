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
# Extra options for every run (e.g. EXTRA="--val-criterion pooled"); default none.
read -r -a extra <<< "${EXTRA-}"
REPLAY="$BUILD/agent/replay/antiphase-replay"
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) nproc=$(nproc) cpu=$(lscpu | sed -n 's/^Model name:[ ]*//p' | head -1)"
# shellcheck source=tests/bench/replay/windows.sh
source "$(dirname "$0")/windows.sh"
for fit in $FITS; do
  for seed in $SEEDS; do
    plot=()
    [[ $seed == 1 ]] && plot=(--plot-dir "$OUT/plots-planetlab-$fit")
    nice -n 10 taskset -c 0 "$REPLAY" "$TRACES/planetlab-2011.csv.gz" "${planetlab_window[@]}" "${extra[@]}" --fit "$fit" --seed "$seed" --json "${plot[@]}" \
      > "$OUT/planetlab-$fit-$seed.json"
    [[ $seed == 1 ]] && plot=(--plot-dir "$OUT/plots-bitbrains-$fit")
    nice -n 10 taskset -c 0 "$REPLAY" "$TRACES/bitbrains-rnd-2013-07.csv.gz" "${bitbrains_window[@]}" "${extra[@]}" --fit "$fit" --seed "$seed" --json "${plot[@]}" \
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
        # Validation utilisation at the chosen knob: how densely the policy packs on the
        # validation folds while meeting the target there (no test data in it).
        val = p.get("chosen", {}).get("validation")
        val_util = val["utilisation"] if val else float("nan")
        rows[(trace, j["fit"], p["policy"])].append((p["chosen_knob"], val_util, t["hosts"], t["overload_rate"]))
print(f"{'trace':10} {'fit':6} {'policy':17} {'knobs':22} {'val util %':>10} {'hosts per seed':16} {'mean':>5} {'overload % per seed':28}")
for (trace, fit, pol), v in sorted(rows.items()):
    knobs = ",".join(f"{k:g}" for k, _, _, _ in v)
    val_util = sum(u for _, u, _, _ in v) / len(v) * 100
    hosts = ",".join(str(h) for _, _, h, _ in v)
    over = ",".join(f"{o*100:.3f}" for _, _, _, o in v)
    print(f"{trace:10} {fit:6} {pol:17} {knobs:22} {val_util:10.1f} {hosts:16} {sum(h for _,_,h,_ in v)/len(v):5.1f} {over:28}")
PY
