"""Time ``make test`` phase by phase: lint, unit, nbval, nbval-reduced, build, browser.

Usage::

    python scripts/time_test_phases.py [--phases lint unit ...] [--json out.json]

Runs ``make <phase>`` for each phase in order (as ``make test`` does), and prints one markdown
row per phase: wall seconds, the load average (1 minute) before and after, and the exit status,
then the total. Timings on a shared machine are only comparable when the load stays below the
number of cores; the load columns say whether it did. ``make test-phases`` calls this.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

PHASES = ("lint", "unit", "nbval", "nbval-reduced", "build", "browser")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--make", default=os.environ.get("MAKE", "make"))
    args = parser.parse_args(argv)
    rows, failed = [], False
    print("| phase | seconds | load before | load after | status |")
    print("|---|---|---|---|---|")
    for phase in args.phases:
        before = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run([args.make, "--no-print-directory", phase], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        after = os.getloadavg()[0]
        status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
        failed |= proc.returncode != 0
        rows.append({"phase": phase, "seconds": round(seconds, 1), "load_before": round(before, 2),
                     "load_after": round(after, 2), "status": status})
        print(f"| {phase} | {seconds:.0f} | {before:.1f} | {after:.1f} | {status} |", flush=True)
        if proc.returncode:
            print(proc.stderr[-2000:], file=sys.stderr)
    total = sum(r["seconds"] for r in rows)
    print(f"| total | {total:.0f} | | | {'FAILED' if failed else 'ok'} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
