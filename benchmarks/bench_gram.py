"""Benchmarks of the gradient-Gram engine (helpers.gradients) against the naive loop.

Run with ``make bench`` (or ``python benchmarks/bench_gram.py``). Prints one ``name: value``
line per figure, measured side by side in one run, preceded by the machine, the torch version
and the thread count. Times are the median of several repeats; the methods compared on one
problem run interleaved (loop, fast, loop, fast, ...) so that load from other processes on a
shared machine hits them alike.

* ``gram_mlp_speedup_vs_loop``: MLP 784→1024→1024→10, N = 256, cross-entropy; the layer-wise
  path (one batched forward/backward) against N separate backward passes that each form the
  full per-example gradient (target ≥ 50).
* ``gram_cnn_speedup_vs_loop``: small CNN on 3×32×32, N = 128 (``models.SmallCNN`` with width
  32, depth 3: a 3x3 stem and three 3x3 conv blocks of 32 channels at full 32×32 resolution,
  global average pooling, a linear classifier; 28 970 parameters; eval mode, float32,
  cross-entropy); the engine's default path (``method="auto"``, which takes the exact
  layer-wise path for conv nets) against the loop (target ≥ 10).
* ``gram_cnn_vmap_speedup_vs_loop``: the same problem with the chunked ``torch.func`` path
  (``method="vmap"``), for an honest comparison (no target).
* ``gram_mlp_peak_memory_ratio``: peak resident memory added by the layer-wise path divided
  by that added by one batched forward+backward of the same model and batch, each measured in
  a fresh subprocess (target ≤ 2).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

from helpers import gradients, losses, models
from helpers.rng import make_generator

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def mlp_problem(n: int = 256):
    gen = make_generator(0)
    model = models.MLP(784, 1024, 2, 10, generator=gen, dtype=torch.float32)
    X = torch.rand(n, 784, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return model, X, y


def cnn_problem(n: int = 128):
    gen = make_generator(1)
    model = models.SmallCNN(3, 10, generator=gen, width=32, depth=3).eval()
    X = torch.rand(n, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return model, X, y


def loop_gram(model, X, y) -> torch.Tensor:
    """The naive reference: one backward pass per example, then G = g g^T."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(X.shape[0]):
        loss = losses.cross_entropy(model(X[i:i + 1]), y[i:i + 1]).sum()
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    g = torch.stack(rows)
    return g @ g.T


def median_seconds(fns: dict, warmups: dict, repeats: int = REPEATS) -> dict:
    """Median wall-clock seconds of each ``fns[name]()``, the names run interleaved."""
    for warm in warmups.values():
        warm()
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


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


def main() -> None:
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores")
    print(f"torch: {torch.__version__}, threads: {torch.get_num_threads()}")

    model, X, y = mlp_problem()
    ce = losses.cross_entropy
    reference = loop_gram(model, X, y)
    err = relative_error(gradients.gradient_gram(model, ce, X, y, method="layerwise"), reference)
    t = median_seconds(
        {"loop": lambda: loop_gram(model, X, y),
         "layerwise": lambda: gradients.gradient_gram(model, ce, X, y, method="layerwise")},
        {"loop": lambda: loop_gram(model, X[:4], y[:4]),
         "layerwise": lambda: gradients.gradient_gram(model, ce, X, y, method="layerwise")})
    print(f"gram_mlp_loop_seconds: {t['loop']:.3f}")
    print(f"gram_mlp_layerwise_seconds: {t['layerwise']:.4f}")
    print(f"gram_mlp_relative_error: {err:.1e}")
    print(f"gram_mlp_speedup_vs_loop: {t['loop'] / t['layerwise']:.1f}")

    model, X, y = cnn_problem()
    reference = loop_gram(model, X, y)
    err = relative_error(gradients.gradient_gram(model, ce, X, y), reference)
    err_vmap = relative_error(gradients.gradient_gram(model, ce, X, y, method="vmap"), reference)
    t = median_seconds(
        {"loop": lambda: loop_gram(model, X, y),
         "auto": lambda: gradients.gradient_gram(model, ce, X, y),
         "vmap": lambda: gradients.gradient_gram(model, ce, X, y, method="vmap")},
        {"loop": lambda: loop_gram(model, X[:4], y[:4]),
         "auto": lambda: gradients.gradient_gram(model, ce, X, y),
         "vmap": lambda: gradients.gradient_gram(model, ce, X, y, method="vmap")})
    print(f"gram_cnn_parameters: {models.count_parameters(model)}")
    print(f"gram_cnn_loop_seconds: {t['loop']:.3f}")
    print(f"gram_cnn_default_seconds: {t['auto']:.3f}")
    print(f"gram_cnn_vmap_seconds: {t['vmap']:.3f}")
    print(f"gram_cnn_relative_error: {err:.1e}")
    print(f"gram_cnn_vmap_relative_error: {err_vmap:.1e}")
    print(f"gram_cnn_speedup_vs_loop: {t['loop'] / t['auto']:.1f}")
    print(f"gram_cnn_vmap_speedup_vs_loop: {t['loop'] / t['vmap']:.1f}")

    layerwise = statistics.median(peak_rss_mb("layerwise") for _ in range(REPEATS))
    batched = statistics.median(peak_rss_mb("batched") for _ in range(REPEATS))
    print(f"gram_mlp_peak_memory_layerwise_mb: {layerwise:.1f}")
    print(f"gram_mlp_peak_memory_batched_mb: {batched:.1f}")
    print(f"gram_mlp_peak_memory_ratio: {layerwise / batched:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2])
    else:
        main()
