#!/usr/bin/env python3
"""The fleet replay with every policy's knob chosen on the warm-up days, as the static protocol chooses.

For each policy, the knob is the least careful one whose overload on the warm-up days
(`--warmup-days`, the run's only days before the judged ones) is at most the target on
every seed (the worst-run criterion); where none is, its careful end. Then the judged
days of the chosen knob are reported. antiphase's knob is `target_overload_rate` (given
to the hosts through `--config`; 0 packs by peaks), the percentile rules' knob their
percentile (p100 is the careful end), recent-peak's knob its window in hours (24 h to a
week, the careful end); peak-sum and the two bounds (oracle, oracle-peaks) have none.
antiphase has a second knob, `shape.highest_window` (how long a function's highest use
counts in full once relief was seen acted upon, `shape.highest_window_after_relief`
left at its default; 0 = for good, the careful end): with the target chosen at the
default window, the windows are tried from the least careful the same way, and both
rows print (the target alone, and target + window).

  tests/bench/replay/fleet_calibrated.py BUILD TRACE [--capacity 16] [--fit first]
      [--seeds 1,2,3] [--jobs 2] [--out DIR] [--antiphase-config FILE]
      [-- more antiphase-replay options]

--antiphase-config: an antiphased config whose other settings every antiphase run
uses; its [admission] section must not be there (the target is the knob), and with
it the window is not calibrated (it may set [shape] itself). Extra options after `--` go to every run (default: --instance-lifetime 1d --fleet-days 28).
antiphase's targets are tried from the least careful down and stop at the first that
meets, so a run costs as many antiphase replays per seed as targets it tries.
Prints a table; --out keeps every run's JSON and writes calibrated.json there.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

# Least careful first; each grid reaches past its default on the loose side, as the static
# protocol's grids do (0 = pack by peaks, p100 = peaks).
ANTIPHASE_TARGETS = ["5e-3", "2e-3", "1e-3", "5e-4", "2e-4", "1e-4", "0"]
PERCENTILES = ["90", "95", "99", "99.5", "99.9", "100"]
PERCENTILE_RULES = ["pXX-sum", "slot-pXX-sum"]
RECENT_PEAK_HOURS = ["24", "36", "48", "72", "96", "168"]  # recent-peak's window; a week is its careful end
HIGHEST_WINDOW_HOURS = ["48", "72", "96", "120", "168", "0"]  # antiphase's shape.highest_window; 0 = for good


def shipped_highest_window_hours():
    """shape.highest_window in the packaged config (held equal to the built-in defaults by
    Config.ShippedDefaultFileEqualsBuiltInDefaults): the target's own runs use it."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../common/config/antiphase.toml")
    with open(path) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "highest_window":
                text = value.split("#")[0].strip().strip('"')
                if text in ("0", "0s", "0h"):
                    return "0"  # for good
                if not text.endswith("h"):
                    raise SystemExit(f"{path}: highest_window {text!r} is not in hours; extend this reader")
                return text[:-1]
    raise SystemExit(f"{path}: no highest_window")


DEFAULT_HIGHEST_WINDOW = shipped_highest_window_hours()


def replay(build, trace, args, policies, seed, config=None):
    cmd = [os.path.join(build, "agent/replay/antiphase-replay"), trace, "--fleet", "--json",
           "--fleet-policies", policies, "--seed", str(seed)] + args
    if config:
        cmd += ["--config", config]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {run.returncode}: {run.stderr.strip()}")
    return {p["policy"]: p for p in json.loads(run.stdout)["policies"]}


def summary(runs):
    """Worst warm-up overload, mean judged hosts and worst judged overload over seeds."""
    if any(r["warmup"]["hosts_mean"] <= 0 for r in runs):
        raise SystemExit("no warm-up days to calibrate on (--warmup-days 0?): the knobs need validation days")
    return {
        "warmup_overload_worst": max(r["warmup"]["overload_rate"] for r in runs),
        "hosts_mean": sum(r["hosts_mean"] for r in runs) / len(runs),
        "overload_worst": max(r["overload_rate"] for r in runs),
    }


def choose(knobs, by_knob, target):
    """The least careful knob that meets the target on every seed, else the careful end."""
    for k in knobs:
        if k in by_knob and by_knob[k]["warmup_overload_worst"] <= target:
            return k, True
    return knobs[-1], False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("trace")
    ap.add_argument("--capacity", default="16")
    ap.add_argument("--fit", choices=["first", "best"], default="first")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--target", type=float, default=0.001, help="overload target the knobs must meet (default 0.001)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", help="keep every run's JSON and calibrated.json here")
    ap.add_argument("--antiphase-config", help="settings every antiphase run uses besides its target (no [admission])")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    extra = argv[cut + 1:] or ["--instance-lifetime", "1d", "--fleet-days", "28"]
    seeds = [int(s) for s in a.seeds.split(",")]
    args = ["--capacity", a.capacity, "--fit", a.fit] + extra
    base_config = ""
    if a.antiphase_config:
        with open(a.antiphase_config) as f:
            base_config = f.read()
        if "[admission]" in base_config:
            raise SystemExit(f"{a.antiphase_config}: leave [admission] out: the target is the knob")
        base_config = base_config.rstrip("\n") + "\n"
    work = a.out or tempfile.mkdtemp(prefix="fleet-calibrated-")
    os.makedirs(work, exist_ok=True)

    def keep(name, seed, result):
        with open(os.path.join(work, f"{name}-s{seed}.json"), "w") as f:
            json.dump(result, f)
        return result

    baselines = ",".join(["peak-sum", "oracle", "oracle-peaks"] + [f"{r}:{p}" for r in PERCENTILE_RULES for p in PERCENTILES] +
                         [f"recent-peak:{h}" for h in RECENT_PEAK_HOURS])
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        base = list(pool.map(lambda s: keep("baselines", s, replay(a.build, a.trace, args, baselines, s)), seeds))

        def antiphase(name, config_text):
            """Every seed's antiphase run with this config, summarised."""
            config = os.path.join(work, f"{name}.toml")
            with open(config, "w") as f:
                f.write(config_text)
            return summary(list(pool.map(
                lambda s: keep(f"antiphase-{name}", s, replay(a.build, a.trace, args, "antiphase", s, config))["antiphase"],
                seeds)))

        def until_met(knobs, run, known=None):
            """Runs the knobs from the least careful until one meets the target."""
            tried = {}
            for knob in knobs:
                tried[knob] = (known or {}).get(knob) or run(knob)
                if tried[knob]["warmup_overload_worst"] <= a.target:
                    break
            return tried

        anti = until_met(ANTIPHASE_TARGETS,
                         lambda t: antiphase(f"target-{t}", f"{base_config}[admission]\ntarget_overload_rate = {t}\n"))
        k, target_met = choose(ANTIPHASE_TARGETS, anti, a.target)
        windows = {} if a.antiphase_config else until_met(
            HIGHEST_WINDOW_HOURS,
            lambda w: antiphase(f"{k}-window-{w}h", f"[shape]\nhighest_window = \"{w}h\"\n"
                                                    f"[admission]\ntarget_overload_rate = {k}\n"),
            known={DEFAULT_HIGHEST_WINDOW: anti[k]})

    rows = []
    rows.append(("antiphase", f"target {k}", target_met, anti[k]))
    if windows:
        w, met = choose(HIGHEST_WINDOW_HOURS, windows, a.target)
        rows.append(("antiphase", f"{k}, {w + ' h' if w != '0' else 'for good'}", met and target_met, windows[w]))
    for rule in PERCENTILE_RULES:
        by = {p: summary([b[f"{rule}:{p}"] for b in base]) for p in PERCENTILES}
        p, met = choose(PERCENTILES, by, a.target)
        rows.append((rule, f"p{p}", met, by[p]))
    by = {h: summary([b[f"recent-peak:{h}"] for b in base]) for h in RECENT_PEAK_HOURS}
    h, met = choose(RECENT_PEAK_HOURS, by, a.target)
    rows.append(("recent-peak", f"{h} h", met, by[h]))
    for rule in ("peak-sum", "oracle", "oracle-peaks"):
        rows.append((rule, "-", True, summary([b[rule] for b in base])))

    print(f"fleet calibrated on the warm-up days: {a.trace}, {a.capacity}-core hosts, {a.fit} fit, seeds {a.seeds}, "
          f"target {a.target:g} on every seed; {' '.join(extra)}" +
          (f"; antiphase also with {a.antiphase_config}" if a.antiphase_config else ""))
    print(f"{'policy':<14} {'knob':<14} {'met':<4} {'warm-up worst %':>16} {'hosts (mean)':>13} {'overload worst %':>17}")
    for name, knob, met, s in rows:
        print(f"{name:<14} {knob:<14} {'yes' if met else 'no':<4} {100 * s['warmup_overload_worst']:>16.4f} "
              f"{s['hosts_mean']:>13.2f} {100 * s['overload_worst']:>17.4f}")
    print("antiphase targets tried: " + ", ".join(f"{t} ({100 * s['warmup_overload_worst']:.3f} %)" for t, s in anti.items()))
    if windows:
        print(f"antiphase windows tried at target {k}: " +
              ", ".join(f"{w} h ({100 * s['warmup_overload_worst']:.3f} %)" for w, s in windows.items()))
    with open(os.path.join(work, "calibrated.json"), "w") as f:
        json.dump([{"policy": n, "knob": k, "met_in_validation": m, **s} for n, k, m, s in rows], f, indent=1)
    print(f"runs and calibrated.json in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
