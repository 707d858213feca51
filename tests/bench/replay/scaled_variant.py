#!/usr/bin/env python3
"""Writes a variant of a trace with COPIES times its series, for the replay's speed at scale.

Copy k of each series is named `<id>-c<k>` and carries the same samples rotated by k days
(its own timestamps, the values of k days later, wrapping at the end), so the copies are
not identical tenants. Held-out traces may hold thousands of functions where the shared
ones hold hundreds; this shows what the fleet replay costs there (docs/replay.md "Speed").
The rows come out grouped by series, not by time: the replay reads them in any order.

    scaled_variant.py ../shared/traces/bitbrains-rnd-2013-07.csv.gz /tmp/x10.csv.gz --copies 10
"""
import argparse
import collections
import gzip
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", help="timestamp,function,cpu (gzip CSV)")
    ap.add_argument("out", help="where to write the variant (gzip CSV)")
    ap.add_argument("--copies", type=int, default=10, help="copies of each series (default 10)")
    ap.add_argument("--step", type=int, default=300, help="the trace's sampling step in seconds (default 300)")
    a = ap.parse_args()
    if a.copies < 1 or a.step <= 0:
        print("--copies and --step must be positive", file=sys.stderr)
        return 2
    series = collections.defaultdict(list)
    with gzip.open(a.trace, "rt") as src:
        header = src.readline()
        for line in src:
            ts, fn, cpu = line.rstrip("\n").split(",")
            series[fn].append((ts, cpu))
    steps_per_day = 86400 // a.step
    with gzip.open(a.out, "wt", compresslevel=1) as out:
        out.write(header)
        for fn, rows in series.items():
            n = len(rows)
            for k in range(a.copies):
                shift = (k * steps_per_day) % n
                name = f"{fn}-c{k}"
                for i in range(n):
                    out.write(f"{rows[i][0]},{name},{rows[(i + shift) % n][1]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
