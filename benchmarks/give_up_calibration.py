"""Calibrate the give-up rule of the Figure-2 trainer on runs that succeed.

:func:`helpers.oymak_soltanolkotabi.gd_batched` with ``give_up=M`` stops a run at a check step
:math:`t` (every ``GIVE_UP_WINDOW`` = 1000 steps from 2000 on) when
:math:`\\log(e_t/\\text{tol}) > M\\,\\rho_t\\,(T - t)`, with :math:`\\rho_t = \\log(e_{t-w}/e_t)/w`
the current decay rate of the relative error. A run that **succeeds** must never be stopped, so
:math:`M` has to exceed, at every check step before its success, the ratio

.. math:: R_t = \\frac{\\log(e_t/\\text{tol})}{\\rho_t\\,(T - t)},

the speed-up over its current rate that it still needs. This script trains networks near the
phase boundary of Figure 2 (softplus, the paper's protocol, ``kd/n`` in [1, 3], a spread of
``d``) to the full budget without the rule, records the error every 100 steps, and prints

* ``max_ratio_on_successes``: the largest :math:`R_t` over every successful run and check step
  (the rule with factor ``M`` changes no outcome on this set iff ``M`` exceeds it);
* for ``M`` in a few values: how early the failures would have stopped (mean step), i.e. what
  the rule saves.

The book uses ``M = 4``; the chapter also audits the given-up runs of its own panels. Run with
``.venv/bin/python benchmarks/give_up_calibration.py`` (about a minute per 50 networks at
n = 100 on one core).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from helpers.oymak_soltanolkotabi import GIVE_UP_WINDOW, gd_batched, oymak_output_weights
from helpers.rng import make_generator


def problems(n: int, ds: list[int], trials: int, low: float, high: float, seed: int):
    """Padded draws for every (k, d) with low <= kd/n <= high, k <= 25, ``trials`` each."""
    gen = make_generator(seed)
    cells = [(k, d) for d in ds for k in range(2, 26) if low * n <= k * d <= high * n]
    K, D = max(k for k, _ in cells), max(d for _, d in cells)
    X, y, W, v, meta = [], [], [], [], []
    for k, d in cells:
        for _ in range(trials):
            x = torch.randn(n, d, generator=gen, dtype=torch.float64)
            t = torch.randn(n, generator=gen, dtype=torch.float64)
            w = torch.randn(k, d, generator=gen, dtype=torch.float64)
            Xp = torch.zeros(n, D, dtype=torch.float64)
            Xp[:, :d] = x / x.norm(dim=1, keepdim=True)
            Wp = torch.zeros(K, D, dtype=torch.float64)
            Wp[:k, :d] = w
            vp = torch.zeros(K, dtype=torch.float64)
            vp[:k] = oymak_output_weights(k, y_norm=float(t.norm()), n=n)
            X.append(Xp)
            y.append(t)
            W.append(Wp)
            v.append(vp)
            meta.append((k, d))
    return torch.stack(X), torch.stack(y), torch.stack(W), torch.stack(v), np.array(meta)


def ratios(history: np.ndarray, tol: float, steps: int, every: int) -> np.ndarray:
    """R_t at every check step (rows: runs, columns: t = 2w, 3w, ...; NaN after success)."""
    w = GIVE_UP_WINDOW
    checks = list(range(2 * w, steps, w))
    out = np.full((history.shape[0], len(checks)), np.nan)
    for j, t in enumerate(checks):
        e, e_prev = history[:, t // every], history[:, (t - w) // every]
        rate = np.maximum(np.log(e_prev / e), 0.0) / w
        with np.errstate(divide="ignore"):
            out[:, j] = np.log(e / tol) / (rate * (steps - t))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--ds", type=int, nargs="+", default=[5, 8, 12, 16, 20, 25])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--low", type=float, default=1.0)
    parser.add_argument("--high", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=15000)
    parser.add_argument("--tol", type=float, default=2.5e-3)
    parser.add_argument("--lr", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    every = 100
    X, y, W0, v, meta = problems(args.n, args.ds, args.trials, args.low, args.high, args.seed)
    res = gd_batched(X, y, W0, v, activation="softplus", lr=args.lr, steps=args.steps,
                     tol=args.tol, record_every=every)
    e = (res.history / y.norm(dim=1, keepdim=True)).numpy()
    ok = res.success.numpy()
    its = res.iterations.numpy()
    R = ratios(e, args.tol, args.steps, every)
    w = GIVE_UP_WINDOW
    checks = np.arange(2 * w, args.steps, w)
    before = checks[None, :] < its[:, None]                 # check steps before the success
    worst = np.nanmax(np.where(before & ok[:, None], R, np.nan)) if ok.any() else math.nan
    print(f"networks: {len(ok)} (n = {args.n}, kd/n in [{args.low}, {args.high}], d in"
          f" {args.ds}, {args.trials} per cell), successes: {int(ok.sum())}")
    print(f"max_ratio_on_successes: {worst:.2f}")
    for M in (1.5, 2.0, 4.0, 8.0):
        fire = np.where(before, R > M, False)
        first = np.where(fire.any(1), checks[np.argmax(fire, 1)], args.steps)
        changed = int((fire.any(1) & ok).sum())
        fails = ~ok
        print(f"give_up {M:g}: successes stopped {changed}; failures stopped at step"
              f" {first[fails].mean():.0f} on average (budget {args.steps})")


if __name__ == "__main__":
    main()
