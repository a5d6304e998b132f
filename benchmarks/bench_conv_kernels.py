"""Per-layer timing behind ``helpers.gradients._grouped_conv_wins``: the two ways to form the
per-example weight gradients of one convolution.

Run with ``make bench`` (or ``python benchmarks/bench_conv_kernels.py``), under each CPU
configuration (``make bench BENCH_CPU=reduced``) and thread count. For each layer shape and
dtype it prints one line ``conv_<dtype>_<shape>_products_over_grouped: <ratio>``: the time of
the batched products (``_product_conv_features``) over that of one grouped convolution
backward (``_grouped_conv_features``), medians of ``BENCH_REPEATS`` (default 5) runs after a
warm-up. A ratio above 1 means the grouped kernel is faster; the engine's rule uses it for
float32 with AVX2/AVX-512 kernels and at least 8 input channels per group.
``--quick`` runs two tiny shapes (for the tests).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import torch
from torch import nn

from helpers import gradients

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))

#: (name, examples, input channels, output channels, kernel, side, padding, stride)
SHAPES = [
    ("lenet1", 128, 3, 6, 5, 32, 0, 1), ("lenet2", 128, 6, 16, 5, 14, 0, 1),
    ("wide_stem", 128, 3, 32, 3, 32, 1, 1), ("wide_block", 128, 32, 32, 3, 32, 1, 1),
    ("narrow_stem", 64, 3, 8, 3, 16, 1, 1), ("narrow_block", 64, 8, 8, 3, 16, 1, 1),
    ("w16_block", 64, 16, 16, 3, 16, 1, 1), ("w64_block", 32, 64, 64, 3, 16, 1, 1),
    ("w32_stride2", 64, 32, 32, 3, 16, 1, 2),
]
QUICK = [("tiny", 4, 8, 4, 3, 6, 1, 1), ("tiny_stride2", 4, 3, 4, 3, 6, 1, 2)]


def median_seconds(fn, repeats: int = REPEATS) -> float:
    fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def compare(name: str, b: int, C: int, O: int, k: int, side: int, pad: int, stride: int,
            dtype: torch.dtype) -> tuple[float, float]:
    """(products / grouped time, relative difference of the two per-example gradients)."""
    gen = torch.Generator().manual_seed(0)
    layer = nn.Conv2d(C, O, k, padding=pad, stride=stride).to(dtype)
    a = torch.randn(b, C, side, side, generator=gen, dtype=dtype)
    out = (side + 2 * pad - k) // stride + 1
    d = torch.randn(1, b, O, out, out, generator=gen, dtype=dtype)
    # the two layouts differ, the per-example Gram matrices do not
    ways = (gradients._product_conv_features, gradients._grouped_conv_features)
    f1, f2 = (way(layer, a, d)[:, 0] for way in ways)
    diff = float((f1 @ f1.T - f2 @ f2.T).norm() / (f2 @ f2.T).norm())
    t1, t2 = (median_seconds(lambda way=way: way(layer, a, d)) for way in ways)
    ratio = t1 / t2
    return ratio, diff


def main(quick: bool = False) -> None:
    print(f"torch: {torch.__version__}, threads: {torch.get_num_threads()}, kernels:"
          f" {torch.backends.cpu.get_cpu_capability()}")
    for dtype in (torch.float32, torch.float64):
        for shape in (QUICK if quick else SHAPES):
            ratio, diff = compare(*shape, dtype=dtype)
            key = f"conv_{str(dtype).removeprefix('torch.')}_{shape[0]}"
            print(f"{key}_products_over_grouped: {ratio:.2f}")
            print(f"{key}_relative_difference: {diff:.0e}")


if __name__ == "__main__":
    main(quick=sys.argv[1:] == ["--quick"])
