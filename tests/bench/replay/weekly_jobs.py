#!/usr/bin/env python3
"""Writes a constructed trace of functions with daily shapes, some also running a weekly job.

The highest-use window (`shape.highest_window`, 120 h by default) is shorter than a week,
so a burst that comes back every seven days is forgotten two days before it returns.
This trace asks what that costs: each function runs base + amp * max(0, cos) over the
UTC day with a little noise; the first WEEKLY of them also jump by 3-6 cores for two
hours once a week, on a weekday and hour of their own, or (--together) all on Monday at
02:00 UTC, as jobs of one kind tend to. 28 days at 5-minute steps, from a UTC Saturday.

    weekly_jobs.py /tmp/weekly.csv.gz --functions 80 --weekly 80 --seed 2 [--together]
    antiphase-replay /tmp/weekly.csv.gz --capacity 16 --fleet --instance-lifetime 1d --fleet-days 28
"""
import argparse
import gzip
import math
import random

START = 1688169600  # 2023-07-01 00:00 UTC, a Saturday
STEP_S = 300
DAYS = 28


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="gzip CSV to write (timestamp,function,cpu)")
    ap.add_argument("--functions", type=int, default=80)
    ap.add_argument("--weekly", type=int, default=24, help="how many of them run a weekly job")
    ap.add_argument("--together", action="store_true", help="every weekly job on Monday 02:00-04:00 UTC")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    functions = []
    for i in range(a.functions):
        base, amp, phase_h = rng.uniform(0.3, 1.2), rng.uniform(0.2, 1.0), rng.uniform(0, 24)
        job = None
        if i < a.weekly:
            weekday, hour, height = rng.randrange(7), rng.randrange(24), rng.uniform(3.0, 6.0)
            job = (2, 2, height) if a.together else (weekday, hour, height)
        functions.append((f"fn-{i}", base, amp, phase_h, job))
    with gzip.open(a.out, "wt") as out:
        out.write("timestamp,function,cpu\n")
        for k in range(DAYS * 86400 // STEP_S):
            ts = START + k * STEP_S
            hour = (ts % 86400) / 3600
            weekday = (ts // 86400 + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday, 3)
            for name, base, amp, phase_h, job in functions:
                cores = base + amp * max(0.0, math.cos((hour - phase_h) / 24 * 2 * math.pi)) + rng.gauss(0, 0.05)
                if job and weekday == job[0] and job[1] <= hour < job[1] + 2:
                    cores += job[2]
                out.write(f"{ts},{name},{max(0.0, cores):.4f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
