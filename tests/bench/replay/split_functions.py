#!/usr/bin/env python3
"""Writes one part of a trace split by series: a hold-out check without new data.

Every series (one VM) goes to part crc32(id) mod N, so the parts are disjoint, fixed for
a trace and need no list. Replaying each part on its own asks whether a result carries
over to functions it was not seen on (docs/benchmarks/replay.md, "Disjoint halves").
Usage values and timestamps are unchanged.

    split_functions.py ../shared/traces/bitbrains-rnd-2013-07.csv.gz /tmp/half0.csv.gz --part 0 --of 2
"""
import argparse
import gzip
import sys
import zlib


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", help="timestamp,function,cpu (gzip CSV)")
    ap.add_argument("out", help="where to write the part (gzip CSV)")
    ap.add_argument("--part", type=int, required=True, help="which part, 0 .. N-1")
    ap.add_argument("--of", type=int, default=2, help="number of parts N (default 2)")
    a = ap.parse_args()
    if a.of < 1 or not 0 <= a.part < a.of:
        print("want 0 <= --part < --of", file=sys.stderr)
        return 2
    with gzip.open(a.trace, "rt") as src, gzip.open(a.out, "wt", compresslevel=3) as out:
        out.write(src.readline())
        for line in src:
            fn = line.split(",", 2)[1]
            if zlib.crc32(fn.encode()) % a.of == a.part:  # deterministic, unlike hash()
                out.write(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
