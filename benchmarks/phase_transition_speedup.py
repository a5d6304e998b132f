"""Speed of the batched Figure-2 trainer: against the per-network loop, and as a fraction of the
machine's peak for the same batched matrix products.

1. ``phase_panel_speedup_vs_loop``: trains every network of a small phase-transition panel
   (Oymak & Soltanolkotabi, Figure 2) twice on identical draws, once batched
   (:func:`helpers.oymak_soltanolkotabi.phase_panel`, ``method="batched"``) and once one network
   at a time (``method="loop"``), checks that both give the same outcomes, and prints the
   ratio of median wall-clock times.
2. ``phase_engine_*``: the throughput of :func:`~helpers.oymak_soltanolkotabi.gd_batched` on
   softplus networks of one shape ``k x d`` on ``n`` points (``B`` networks, every one running
   all ``steps``), counted in the flops of its matrix products per step and network,
   :math:`4kdn` (:math:`\\mathbf W\\mathbf X^\\top` and the gradient) :math:`+\\,2kn + 2kd + 2dn`
   (the output and the trick that gives :math:`\\mathbf v^\\top\\mathbf Z`), divided by the
   time. The **peak** is measured in the same run: ``torch.bmm`` of the same two shapes,
   :math:`(k\\times d)(d\\times n)` and :math:`(k\\times n)(n\\times d)`, in the same dtype, on a
   batch large enough to take about 0.2 s. ``phase_engine_fraction_of_peak`` is their ratio:
   what the elementwise work (one exponential, one logarithm and one reciprocal per
   pre-activation and step for softplus) and the per-step overhead cost on top of the products.

Each time is the median of ``--repeats`` runs, wall clock and process CPU time (the latter is
less sensitive to other work on the machine; compare like with like). Run with ``make bench``
or ``.venv/bin/python benchmarks/phase_transition_speedup.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from helpers.oymak_soltanolkotabi import gd_batched, oymak_output_weights, phase_panel
from helpers.rng import make_generator

#: (k, d, n): a wide, a square and a narrow network of panel (a) (n = 100) and one of panel (b).
SHAPES = ((24, 25, 100), (12, 12, 100), (24, 5, 100), (12, 16, 200))


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median (wall, cpu) seconds of ``fn()`` after one warm-up."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def engine_problem(k: int, d: int, n: int, batch: int, dtype=torch.float64):
    """``batch`` softplus networks of one shape, inputs on the sphere, Gaussian labels."""
    gen = make_generator(0)
    X = torch.randn(batch, n, d, generator=gen, dtype=dtype)
    X = X / X.norm(dim=2, keepdim=True)
    y = torch.randn(batch, n, generator=gen, dtype=dtype)
    W0 = torch.randn(batch, k, d, generator=gen, dtype=dtype)
    v = torch.stack([oymak_output_weights(k, y_norm=float(t.norm()), n=n, dtype=dtype)
                     for t in y])
    return X, y, W0, v


def engine_flops(k: int, d: int, n: int) -> int:
    """Flops of the matrix products of one GD step of one network (see the module docstring)."""
    return 4 * k * d * n + 2 * k * n + 2 * k * d + 2 * d * n


def bmm_peak(k: int, d: int, n: int, repeats: int, dtype=torch.float64) -> tuple[float, float]:
    """(wall, cpu) flop rates of torch.bmm on the engine's two shapes, on a large batch."""
    batch = max(64, int(2e8 / (4 * k * d * n)))              # about 0.2 GF per call pair
    gen = make_generator(1)
    W = torch.randn(batch, k, d, generator=gen, dtype=dtype)
    Xt = torch.randn(batch, d, n, generator=gen, dtype=dtype)
    X = Xt.transpose(1, 2).contiguous()
    Z = torch.empty(batch, k, n, dtype=dtype)
    G = torch.empty(batch, k, d, dtype=dtype)

    def both():
        torch.bmm(W, Xt, out=Z)
        torch.bmm(Z, X, out=G)

    wall, cpu = timed(both, repeats)
    flops = 4 * batch * k * d * n
    return flops / wall, flops / cpu


def engine_rate(k: int, d: int, n: int, batch: int, steps: int,
                repeats: int) -> tuple[float, float]:
    """(wall, cpu) flop rates of gd_batched (softplus, all networks running every step)."""
    X, y, W0, v = engine_problem(k, d, n, batch)
    wall, cpu = timed(lambda: gd_batched(X, y, W0, v, activation="softplus", lr=0.15,
                                         steps=steps), repeats)
    flops = batch * steps * engine_flops(k, d, n)
    return flops / wall, flops / cpu


def run_panel(method: str, args) -> tuple[float, np.ndarray]:
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
    parser.add_argument("--engine-batch", type=int, default=64,
                        help="networks per engine-throughput run (0: skip the throughput)")
    parser.add_argument("--engine-steps", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or platform.platform()}")
    print(f"torch: {torch.__version__}  threads: {torch.get_num_threads()}  kernels:"
          f" {torch.backends.cpu.get_cpu_capability()}")
    batched, loop = [], []
    for _ in range(args.repeats):
        tb, err_b = run_panel("batched", args)
        tl, err_l = run_panel("loop", args)
        batched.append(tb)
        loop.append(tl)
        finite = np.isfinite(err_b) & np.isfinite(err_l)
        if not np.array_equal(np.isfinite(err_b), np.isfinite(err_l)) or not np.allclose(
                err_b[finite], err_l[finite], rtol=1e-6, atol=1e-9):
            raise SystemExit("batched and loop trainers disagree")
    problems = args.grid * args.grid * args.trials
    print(f"panel: n={args.n} k,d in 1..{args.grid} trials={args.trials} ({problems} networks)"
          f" steps={args.steps} activation={args.activation}")
    print(f"batched_seconds_median: {statistics.median(batched):.3f}")
    print(f"loop_seconds_median: {statistics.median(loop):.3f}")
    ratio = statistics.median(loop) / statistics.median(batched)
    print(f"phase_panel_speedup_vs_loop: {ratio:.1f}")
    if not args.engine_batch:
        return
    print(f"engine: softplus, float64, {args.engine_batch} networks x {args.engine_steps} steps;"
          " peak: torch.bmm of the same shapes; GF/s wall (cpu)")
    for k, d, n in SHAPES:
        peak = bmm_peak(k, d, n, args.repeats)
        rate = engine_rate(k, d, n, args.engine_batch, args.engine_steps, args.repeats)
        tag = f"{k}x{d}x{n}"
        print(f"phase_engine_gflops_{tag}: {rate[0] / 1e9:.2f} ({rate[1] / 1e9:.2f})")
        print(f"bmm_peak_gflops_{tag}: {peak[0] / 1e9:.2f} ({peak[1] / 1e9:.2f})")
        print(f"phase_engine_fraction_of_peak_{tag}: {rate[0] / peak[0]:.2f}"
              f" ({rate[1] / peak[1]:.2f})")


if __name__ == "__main__":
    main()
