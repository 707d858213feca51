#!/usr/bin/env bash
# How densely can any policy pack PlanetLab while meeting the target on the validation
# folds? One command:  tests/bench/replay/validation_ceiling.sh [build-dir] [traces-dir] [out-dir]
# Runs the honest protocol for every policy and for antiphase model variants (day slots,
# drift), placement seed 1, first-fit, and prints for each the knob validation chooses
# and its *validation* utilisation (Σ usage ÷ Σ host capacity over the validation
# folds). It prints no test-window number on purpose: this is the view a policy's
# knob is chosen from, so it can be looked at while developing without peeking.
set -euo pipefail
BUILD=${1:-build}
TRACES=${2:-../shared/traces}
OUT=${3:-/tmp/antiphase-validation-ceiling}
REPLAY="$BUILD/agent/replay/antiphase-replay"
# shellcheck source=tests/bench/replay/windows.sh
source "$(dirname "$0")/windows.sh"
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) nproc=$(nproc); PlanetLab, seed 1, first-fit, target 0.1 %, worst-run criterion"
run() {  # name, extra options...
  local name=$1
  shift
  nice -n 10 "$REPLAY" "$TRACES/planetlab-2011.csv.gz" "${planetlab_window[@]}" --seed 1 --json "$@" >"$OUT/$name.json"
}
run baselines --policy peak-sum,pXX-sum,slot-pXX-sum,mean-sum,x-train-quantile
run antiphase --policy antiphase
for variant in "slots 1" "slots 4" "slots 24" "drift 0.3" "drift 0.6" "drift 1.0"; do
  read -r option value <<<"$variant"
  run "antiphase-$option-$value" --policy antiphase --"$option" "$value"
done
python3 - "$OUT" <<'PY'
import glob, json, os, sys
print(f"{'run':24} {'policy':17} {'chosen knob':>11} {'met':>4} {'val util %':>10} {'worst val over %':>17}  densest knob: util % / worst over %")
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    for p in json.load(open(f))["policies"]:
        chosen, densest = p.get("chosen", {}), p["sweep"][0]
        if "validation" not in chosen:
            continue
        print(f"{os.path.basename(f)[:-5]:24} {p['policy']:17} {p['chosen_knob']:11g} {'yes' if p['met_target_in_validation'] else 'no':>4} "
              f"{chosen['validation']['utilisation']*100:10.1f} {chosen['worst_validation_overload_rate']*100:17.3f}"
              f"  {densest['validation']['utilisation']*100:.1f} / {densest['worst_validation_overload_rate']*100:.2f}")
PY
