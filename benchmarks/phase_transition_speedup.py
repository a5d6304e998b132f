"""Speed-up of the batched Figure-2 trainer over the per-network loop.

Trains every network of a small phase-transition panel (Oymak & Soltanolkotabi, Figure 2) twice
on identical draws: once as one padded, batched tensor program
(:func:`helpers.oymak_soltanolkotabi.phase_panel` with ``method="batched"``) and once one network
at a time (``method="loop"``), checks that both give the same success indicators, and prints
the median wall-clock ratio over several repeats::

    phase_panel_speedup_vs_loop: <ratio>

Run with ``make bench`` or ``.venv/bin/python benchmarks/phase_transition_speedup.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from helpers.oymak_soltanolkotabi import phase_panel
from helpers.rng import make_generator


def run(method: str, args) -> tuple[float, np.ndarray]:
    grid = list(range(1, args.grid + 1))
    start = time.perf_counter()
    panel = phase_panel(args.n, grid, grid, trials=args.trials, activation=args.activation,
                        lr=args.lr, steps=args.steps, generator=make_generator(args.seed),
                        method=method)
    return time.perf_counter() - start, panel.relative_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--grid", type=int, default=8, help="k and d range over 1..grid")
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    batched, loop = [], []
    for _ in range(args.repeats):
        tb, err_b = run("batched", args)
        tl, err_l = run("loop", args)
        batched.append(tb)
        loop.append(tl)
        finite = np.isfinite(err_b) & np.isfinite(err_l)
        if not np.array_equal(np.isfinite(err_b), np.isfinite(err_l)) or not np.allclose(
                err_b[finite], err_l[finite], rtol=1e-6, atol=1e-9):
            raise SystemExit("batched and loop trainers disagree")
    problems = args.grid * args.grid * args.trials
    print(f"machine: {platform.machine()} {platform.processor() or platform.platform()}")
    print(f"torch: {torch.__version__}  threads: {torch.get_num_threads()}")
    print(f"panel: n={args.n} k,d in 1..{args.grid} trials={args.trials} ({problems} networks)"
          f" steps={args.steps} activation={args.activation}")
    print(f"batched_seconds_median: {statistics.median(batched):.3f}")
    print(f"loop_seconds_median: {statistics.median(loop):.3f}")
    ratio = statistics.median(loop) / statistics.median(batched)
    print(f"phase_panel_speedup_vs_loop: {ratio:.1f}")


if __name__ == "__main__":
    main()
