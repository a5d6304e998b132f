"""The benchmarks measure what they claim: the problems run on the paths they name, exactly.

``make bench`` is not part of ``make test`` (timings need a quiet machine), so these tests keep
the benchmark scripts from rotting: each problem is built, the engine's default path must be the
layer-wise one (a silent fallback to vmap would make the CNN figure measure the wrong method),
and every method must agree with the naive loop in float64 on a few examples.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import gradients, losses

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_gram = _load("bench_gram")


@pytest.mark.parametrize("problem", ["mlp_problem", "cnn_problem", "wide_cnn_problem",
                                     "narrow_cnn_problem"])
def test_default_path_is_layerwise_and_exact(problem):
    model, X, y = getattr(bench_gram, problem)(n=3)
    model, X = model.double(), X.double()
    assert gradients._resolve_method(model, "auto")[0] == "layerwise"
    reference = bench_gram.loop_gram(model, X, y)
    ce = losses.cross_entropy
    for method in ("layerwise", "vmap", "auto"):
        G = gradients.gradient_gram(model, ce, X, y, method=method)
        torch.testing.assert_close(G, reference, rtol=1e-10, atol=1e-12)


def test_lenet5_is_the_classic_architecture():
    model, X, _ = bench_gram.cnn_problem(n=2)
    assert sum(p.numel() for p in model.parameters()) == 62_006
    assert model(X).shape == (2, 10)


def test_ratio_range_brackets_the_ratio_of_medians():
    runs = {"slow": [3.0, 4.0, 5.0], "fast": [1.0, 2.0, 4.0]}
    assert bench_gram.ratio_range(runs, "slow", "fast") == "0.8-5.0"
    assert bench_gram.ratio_range(runs, "slow", "fast", 2) == "0.75-5.00"


def test_phase_transition_benchmark_runs_tiny():
    out = subprocess.run(
        [sys.executable, str(BENCH / "phase_transition_speedup.py"), "--n", "6", "--grid", "2",
         "--steps", "5", "--repeats", "1", "--engine-batch", "2", "--engine-steps", "3"],
        capture_output=True, text=True, check=True)
    assert "phase_panel_speedup_vs_loop:" in out.stdout
    assert out.stdout.count("phase_engine_fraction_of_peak_") == 4


def test_phase_engine_flop_count_matches_the_products():
    """The engine's flop count is that of its matrix products, counted from their shapes."""
    bench = _load("phase_transition_speedup")
    k, d, n = 3, 4, 5
    products = [(k, d, n), (1, k, n), (1, k, d), (1, d, n), (k, n, d)]   # (m, inner, p)
    assert bench.engine_flops(k, d, n) == sum(2 * m * i * p for m, i, p in products)


def test_gram_bench_prints_every_figure_once(capsys, monkeypatch):
    """Paths and loop on tiny problems: each ``name: value`` key appears exactly once, and the
    default is compared with the other paths, never with itself."""
    monkeypatch.setattr(bench_gram, "REPEATS", 1)
    for prefix, problem in (("cnn", bench_gram.cnn_problem),
                            ("narrow", bench_gram.narrow_cnn_problem)):
        model, X, y = problem(n=4)
        t, runs = bench_gram.bench_paths(prefix, model, X, y, rounds=2)
        assert "layerwise" not in t and {"default", "vmap", "vmap_chunk32", "batched"} <= set(t)
        bench_gram.bench_loop(prefix, model, X, y, t, runs)
    keys = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    assert {"cnn_default_over_best", "cnn_cost_vs_batched_pass", "cnn_speedup_vs_loop",
            "narrow_default_over_best"} <= set(keys)


def test_conv_kernel_benchmark_runs_tiny():
    out = subprocess.run([sys.executable, str(BENCH / "bench_conv_kernels.py"), "--quick"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.count("_products_over_grouped:") == 4
    for line in out.stdout.splitlines():
        if "relative_difference" in line:          # the two ways give the same Gram matrix
            assert float(line.split(":")[1]) < 1e-6
