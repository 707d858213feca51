#!/usr/bin/env python3
"""Writes a variant of a trace in which every series arrives as a stranger now and then.

Each series (one VM) is renamed every PERIOD days at its own phase (`<id>-e<k>`), so in
`antiphase-replay --fleet` each renamed instance arrives with no history anywhere: the
case of functions that come without a past (new deployments, versioned names), which
the shared traces, whose VMs live for weeks, hardly contain (docs/admission.md,
"Newcomers"). Usage values are unchanged.

    strangers_variant.py ../shared/traces/bitbrains-rnd-2013-07.csv.gz /tmp/strangers.csv.gz --period-days 3
"""
import argparse
import gzip
import sys
import zlib


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", help="timestamp,function,cpu (gzip CSV)")
    ap.add_argument("out", help="where to write the variant (gzip CSV)")
    ap.add_argument("--period-days", type=float, default=3.0, help="days between renames (default 3)")
    a = ap.parse_args()
    period = int(a.period_days * 86400)
    if period <= 0:
        print("--period-days must be positive", file=sys.stderr)
        return 2
    with gzip.open(a.trace, "rt") as src, gzip.open(a.out, "wt", compresslevel=3) as out:
        out.write(src.readline())
        for line in src:
            t, fn, cpu = line.rstrip("\n").split(",")
            phase = zlib.crc32(fn.encode()) % period  # deterministic, unlike hash()
            out.write(f"{t},{fn}-e{(int(float(t)) + phase) // period},{cpu}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
