"""Benchmarks of the gradient-Gram engine (helpers.gradients) against the naive loop.

Run with ``make bench`` (or ``python benchmarks/bench_gram.py``; ``--paths``: only the paths,
no loop and no memory) on a quiet machine. Prints one ``name: value`` line per figure, measured
in one run, preceded by the machine, the torch version, the thread count and the kernel level.
For each problem the engine's paths and one batched pass are timed interleaved
(:func:`interleaved_seconds`), then the naive loop alone (median of ``BENCH_REPEATS`` runs after
a warm-up, garbage collected in between: the MLP loop materialises 1.9 GB of per-example
gradients, and interleaving it with the fast paths used to charge them for freeing that memory).
Every figure is timed once and printed once.

* ``gram_mlp_speedup_vs_loop``: MLP 784→1024→1024→10, N = 256, cross-entropy; the layer-wise
  path (one batched forward/backward) against N separate backward passes that each form the
  full per-example gradient (target ≥ 50).
* ``gram_cnn_speedup_vs_loop``: a small CNN on 3×32×32, N = 128: LeNet-5 (conv 5×5 3→6, max-pool,
  conv 5×5 6→16, max-pool, dense 400→120→84→10, ReLU; 62 006 parameters; float32,
  cross-entropy); the engine's default path (``method="auto"``: the exact layer-wise path for
  conv nets) against the loop (target ≥ 10).
* ``gram_cnn_vmap_speedup_vs_loop``: the same problem with the chunked ``torch.func`` path
  (``method="vmap"``; no target).
* ``gram_cnn_cost_vs_batched_pass``: the default path's time divided by one batched forward and
  backward pass of the same model and batch: what the issue really asks ("close to the cost of
  one batched forward and backward pass").
* ``gram_wide_cnn_*``: the same for a compute-bound CNN (``models.SmallCNN`` width 32, depth 3:
  3×3 convs of 32 channels at full 32×32 resolution, 28 970 parameters, eval mode). Here one
  example's forward and backward already keep the two cores busy, so the loop pays little
  overhead and **no** method can be 10× faster than it on a CPU; the ratio to one batched pass
  is the meaningful figure.
* ``gram_narrow_cnn_*``: ``models.SmallCNN`` width 8, depth 2 on 3×16×16, N = 64: narrow
  convolutions, where the fastest way to form per-example conv gradients is not the same as on
  the wide CNN.
* For every problem, timed interleaved (one run of each method per round):
  ``<problem>_default_path`` (the path ``method="auto"`` takes) and its time,
  ``<problem>_path_<path>_seconds`` for every other exact path (``layerwise``, ``vmap``,
  ``vmap`` with ``chunk_size=32``), ``<problem>_default_over_best`` (the default over the
  fastest path, itself included, so 1.00 when it is the fastest; target ≤ 1.1) and
  ``<problem>_cost_vs_batched_pass`` (the default over one batched forward and backward pass
  of the same model and batch).
* ``gram_mlp_peak_memory_ratio``: peak resident memory added by the layer-wise path divided
  by that added by one batched forward+backward of the same model and batch, each measured in
  a fresh subprocess (target ≤ 2).
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

from helpers import gradients, losses, models
from helpers.rng import make_generator

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def mlp_problem(n: int = 256):
    gen = make_generator(0)
    model = models.MLP(784, 1024, 2, 10, generator=gen, dtype=torch.float32)
    X = torch.rand(n, 784, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return model, X, y


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) for 3x32x32 inputs, ReLU and max-pooling, He-initialised."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                with torch.no_grad():
                    models.init_weight_(module.weight, "he", generator=generator)
                    module.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def cnn_problem(n: int = 128):
    gen = make_generator(1)
    model = LeNet5(gen)
    X = torch.rand(n, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return model, X, y


def _small_cnn_problem(n: int, seed: int, width: int, depth: int, side: int):
    gen = make_generator(seed)
    model = models.SmallCNN(3, 10, generator=gen, width=width, depth=depth).eval()
    X = torch.rand(n, 3, side, side, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return model, X, y


def wide_cnn_problem(n: int = 128):
    return _small_cnn_problem(n, seed=1, width=32, depth=3, side=32)


def narrow_cnn_problem(n: int = 64):
    return _small_cnn_problem(n, seed=2, width=8, depth=2, side=16)


PROBLEMS = {"gram_mlp": mlp_problem, "gram_cnn": cnn_problem, "gram_wide_cnn": wide_cnn_problem,
            "gram_narrow_cnn": narrow_cnn_problem}
PATHS = {"layerwise": {"method": "layerwise"}, "vmap": {"method": "vmap"},
         "vmap_chunk32": {"method": "vmap", "chunk_size": 32}}


def batched_pass(model, X, y) -> None:
    """One batched forward and backward pass (the cost the engine should approach)."""
    model.zero_grad(set_to_none=True)
    losses.cross_entropy(model(X), y).sum().backward()
    model.zero_grad(set_to_none=True)


def loop_gram(model, X, y) -> torch.Tensor:
    """The naive reference: one backward pass per example, then G = g g^T."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(X.shape[0]):
        loss = losses.cross_entropy(model(X[i:i + 1]), y[i:i + 1]).sum()
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    g = torch.stack(rows)
    return g @ g.T


def median_seconds(fns: dict, warmups: dict, repeats: int = REPEATS) -> tuple[dict, dict]:
    """Median wall-clock seconds of each ``fns[name]()`` and the list of all runs: warm-up, then
    ``repeats`` runs of one method after the other, garbage collected before each run."""
    times: dict = {}
    runs: dict = {}
    for name, fn in fns.items():
        warmups[name]()
        runs[name] = []
        for _ in range(repeats):
            gc.collect()
            start = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
        times[name] = statistics.median(runs[name])
    return times, runs


def ratio_range(runs: dict, slow: str, fast: str, digits: int = 1) -> str:
    """The spread of a ratio of medians: from min(slow)/max(fast) to max(slow)/min(fast)."""
    low, high = min(runs[slow]) / max(runs[fast]), max(runs[slow]) / min(runs[fast])
    return f"{low:.{digits}f}-{high:.{digits}f}"


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def peak_rss_mb(mode: str) -> float:
    """Peak RSS added by one operation, measured in a fresh interpreter."""
    out = subprocess.run([sys.executable, __file__, "--memory", mode], capture_output=True,
                         text=True, check=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])["added_mb"]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(mode: str) -> None:
    """Peak RSS above the resting RSS during one operation (Linux: VmHWM reset via clear_refs)."""
    model, X, y = mlp_problem()
    # touch everything once at small size so that allocator and kernel set-up are in the baseline
    losses.cross_entropy(model(X[:2]), y[:2]).sum().backward()
    model.zero_grad(set_to_none=True)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset the peak-RSS high-water mark
    base = _status_kb("VmRSS")
    if mode == "layerwise":
        gradients.gradient_gram(model, losses.cross_entropy, X, y, method="layerwise")
    else:
        losses.cross_entropy(model(X), y).sum().backward()
    peak = _status_kb("VmHWM")
    print(json.dumps({"added_mb": max(peak - base, 1) / 1024}))


def interleaved_seconds(fns: dict, repeats: int | None = REPEATS,
                        budget_seconds: float = 10.0) -> tuple[dict, dict]:
    """Median seconds of each ``fns[name]()``, timed interleaved: after one warm-up call of each,
    rounds that run every method once, so that a change in the machine's load hits all methods
    alike. ``repeats`` rounds, or with ``repeats=None`` as many as fit in ``budget_seconds``
    (from REPEATS to 50, so that fast problems get enough runs). Each round starts one method
    later (a method that frees much memory slows the next one), and the garbage is collected
    before each run."""
    warm = 0.0
    for fn in fns.values():
        start = time.perf_counter()
        fn()
        warm += time.perf_counter() - start
    if repeats is None:   # as many rounds as fit in the budget, between REPEATS and 50
        repeats = min(50, max(REPEATS, math.ceil(budget_seconds / max(warm, 1e-9))))
    names = list(fns)
    runs: dict = {name: [] for name in fns}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = fns[name]
            gc.collect()
            start = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
    return {name: statistics.median(r) for name, r in runs.items()}, runs


def bench_paths(prefix: str, model, X, y, rounds: int | None = None) -> tuple[dict, dict]:
    """The default path, every other exact path and one batched pass on one problem,
    interleaved; prints ``<prefix>_default_over_best`` (target <= 1.1) and
    ``<prefix>_cost_vs_batched_pass``.

    The path that ``method="auto"`` resolves to is not timed a second time under its own name:
    two timings of the same code differ only by the machine's noise (5-10 % here for a 15 ms
    call), so the default is compared with the *other* paths. ``rounds``: as many as fit in
    about ten seconds when None (see :func:`interleaved_seconds`).
    """
    ce = losses.cross_entropy
    taken = gradients._resolve_method(model, "auto")[0]
    fns = {"default": lambda: gradients.gradient_gram(model, ce, X, y)}
    for name, kwargs in PATHS.items():
        if kwargs != {"method": taken}:
            fns[name] = lambda kwargs=kwargs: gradients.gradient_gram(model, ce, X, y, **kwargs)
    fns["batched"] = lambda: batched_pass(model, X, y)
    t, runs = interleaved_seconds(fns, repeats=rounds)
    others = [name for name in fns if name not in ("default", "batched")]
    best = min(others, key=t.get)
    print(f"{prefix}_default_path: {taken}")
    print(f"{prefix}_default_seconds: {t['default']:.4f}")
    for name in others:
        print(f"{prefix}_path_{name}_seconds: {t[name]:.4f}")
    print(f"{prefix}_rounds: {len(runs['default'])}")
    print(f"{prefix}_fastest_other_path: {best}")
    ratio = t["default"] / min(t["default"], t[best])
    print(f"{prefix}_default_over_best: {ratio:.2f}")
    low = min(runs["default"]) / max(runs[best])
    high = max(runs["default"]) / min(runs[best])
    print(f"{prefix}_default_over_best_range: {low:.2g}-{high:.2g}")
    print(f"{prefix}_cost_vs_batched_pass: {t['default'] / t['batched']:.2f}")
    print(f"{prefix}_cost_vs_batched_pass_range: {ratio_range(runs, 'default', 'batched', 2)}")
    return t, runs


def bench_loop(prefix: str, model, X, y, t: dict, runs: dict) -> None:
    """The naive loop on one problem, against the timings ``t``/``runs`` of
    :func:`bench_paths`: relative errors of the fast paths and their speedups over the loop."""
    ce = losses.cross_entropy
    reference = loop_gram(model, X, y)
    lt, lruns = median_seconds({"loop": lambda: loop_gram(model, X, y)},
                               {"loop": lambda: loop_gram(model, X[:4], y[:4])})
    t, runs = {**t, **lt}, {**runs, **lruns}
    print(f"{prefix}_parameters: {models.count_parameters(model)}")
    print(f"{prefix}_loop_seconds: {t['loop']:.3f}")
    print(f"{prefix}_relative_error: "
          f"{relative_error(gradients.gradient_gram(model, ce, X, y), reference):.1e}")
    print(f"{prefix}_speedup_vs_loop: {t['loop'] / t['default']:.1f}")
    print(f"{prefix}_speedup_vs_loop_range: {ratio_range(runs, 'loop', 'default')}")
    if "vmap" in t:
        err = relative_error(gradients.gradient_gram(model, ce, X, y, method="vmap"), reference)
        print(f"{prefix}_vmap_relative_error: {err:.1e}")
        print(f"{prefix}_vmap_speedup_vs_loop: {t['loop'] / t['vmap']:.1f}")


def main(paths_only: bool = False) -> None:
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores")
    print(f"torch: {torch.__version__}, threads: {torch.get_num_threads()}, kernels:"
          f" {torch.backends.cpu.get_cpu_capability()}")
    for prefix, problem in PROBLEMS.items():
        model, X, y = problem()
        t, runs = bench_paths(prefix, model, X, y)
        if not paths_only:
            bench_loop(prefix, model, X, y, t, runs)
    if paths_only:
        return

    layerwise_runs = [peak_rss_mb("layerwise") for _ in range(REPEATS)]
    batched_runs = [peak_rss_mb("batched") for _ in range(REPEATS)]
    layerwise, batched = statistics.median(layerwise_runs), statistics.median(batched_runs)
    print(f"gram_mlp_peak_memory_layerwise_mb: {layerwise:.1f}")
    print(f"gram_mlp_peak_memory_batched_mb: {batched:.1f}")
    print(f"gram_mlp_peak_memory_ratio: {layerwise / batched:.2f}")
    print(f"gram_mlp_peak_memory_ratio_range: {min(layerwise_runs) / max(batched_runs):.2f}-"
          f"{max(layerwise_runs) / min(batched_runs):.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2])
    else:   # --paths: only the default-versus-best comparison of every problem
        main(paths_only=sys.argv[1:] == ["--paths"])
