"""Estimate the cost of every chapter's full preset: FLOPs, peak memory, time here and on a GPU.

Usage::

    python scripts/full_scale_plan.py [--timings docs/timings.md] [--no-measure]
    make full-scale-plan

For every chapter with a parameters cell, the cell is executed at ``small`` and at ``full``
scale (as ``tests/test_full_scale_presets.py`` does) to read both presets (``sizes``). Then:

* **Chapters with a cost model** (``MODELS`` below) count the dominant products of the full
  preset: the Figure-2 engine (matrix products per step and network, times the steps the runs
  take), or SGD training (6 flops per parameter and example for an MLP; 3 forward passes per
  example for a CNN, the forward counted by ``torch.utils.flop_counter`` on the chapter's
  architecture), times the number of runs the chapter trains. Peak memory is the largest
  working set of one run (weights, gradients and the activations of one batch, float32).
* **The other chapters** get a generic estimate from their presets alone: the small-scale time
  (read from the table of ``docs/timings.md``) times the ratio of sizes, with every numeric field
  of the preset contributing its ratio full/small (a tuple: the ratio of its sums). The product of
  all ratios is an upper bound (fields of independent experiments multiply); the largest single
  ratio a lower bound. No FLOP or memory figure is claimed for them.

Time on this CPU: FLOPs divided by the float32 matrix-product rate measured at start-up (a
1024 x 1024 ``torch.mm`` with the current threads) times ``CPU_EFFICIENCY``. Time on the
reference GPU: FLOPs divided by ``GPU_FLOPS`` (an NVIDIA H100 SXM: 67 TFLOP/s in float32
without tensor cores) times ``GPU_EFFICIENCY``, plus a launch floor (``GPU_LAUNCH`` seconds per
kernel) where the model counts kernels. These are planning figures, to schedule the runs and to
spot the chapters that need a GPU; each is printed with the model that produced it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import re
import sys
import time
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import jupytext
import torch

ROOT = Path(__file__).resolve().parents[1]
CPU_EFFICIENCY = 0.5      # of the measured matmul rate, for training and batched small products
GPU_FLOPS = 67e12         # H100 SXM, float32, no tensor cores
GPU_EFFICIENCY = 0.3
GPU_LAUNCH = 5e-6         # seconds per kernel launch, for launch-bound loops


@dataclass
class Estimate:
    flops: float | None            # full preset
    peak_bytes: float | None
    kernels: float = 0.0           # kernel launches (GPU floor), 0 if not modelled
    model: str = ""
    factor: tuple[float, float] | None = None     # generic: (low, high) time ratio full/small


# ----------------------------------------------------------------------------- presets

def parameter_prefix(md: Path) -> str | None:
    cells = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    k = next((i for i, src in enumerate(cells) if "config.runtime(" in src), None)
    if k is None:
        return None
    return "\n".join(line for src in cells[:k + 1] for line in src.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def presets(md: Path) -> tuple[object, object] | None:
    prefix = parameter_prefix(md)
    if prefix is None:
        return None
    import matplotlib
    matplotlib.use("Agg")
    out = []
    old_scale, cwd = os.environ.get("BOOK_SCALE"), os.getcwd()
    try:
        for scale in ("small", "full"):
            os.environ["BOOK_SCALE"] = scale
            os.chdir(md.parent)
            namespace: dict = {"__name__": "__main__"}
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(prefix, str(md), "exec"), namespace)
            out.append(namespace.get("sizes"))
    finally:
        os.chdir(cwd)
        if old_scale is None:
            os.environ.pop("BOOK_SCALE", None)
        else:
            os.environ["BOOK_SCALE"] = old_scale
    return tuple(out)


def _size(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return float(value)
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return float(sum(abs(v) for v in value))
    return None


def size_ratios(small, full) -> dict[str, float]:
    """Ratio full/small of every integer field (tuples of numbers: of their sums)."""
    if not (is_dataclass(small) and is_dataclass(full)):
        return {}
    out = {}
    for f in fields(small):
        a, b = _size(getattr(small, f.name)), _size(getattr(full, f.name))
        if a and b and a > 0:
            out[f.name] = b / a
    return out


def generic(small, full) -> Estimate:
    ratios = [r for r in size_ratios(small, full).values() if r > 1]
    high = math.prod(ratios) if ratios else 1.0
    low = max(ratios) if ratios else 1.0
    return Estimate(None, None, model="generic: small-scale time x size ratios",
                    factor=(low, high))


# ----------------------------------------------------------------------------- cost models

def _phase_engine(panels, steps: int, give_up: bool, bands=None) -> tuple[float, float, float]:
    """FLOPs, peak bytes (float32) and kernel launches of Figure-2 panels on the batched engine.

    The runs of a cell with ratio r = kd/n take the measured fraction of the budget ``bands``
    (panel (a) at n = 100, one run per cell, with the shortcuts); cells with kd < n are skipped
    when the shortcuts are on (plus ``audit`` full-length runs, ignored here).
    """
    bands = bands or PHASE_FRACTION_OF_BUDGET
    flops = peak = 0.0
    for p in panels:
        n = p.n
        for k in p.ks:
            for d in p.ds:
                r = k * d / n
                if give_up and r < 1:
                    continue
                frac = next(f for hi, f in bands if r < hi)
                ke = k // 2 * 2
                flops += p.trials * frac * steps * (4 * ke * d * n + 2 * ke * n + 2 * ke * d
                                                    + 2 * d * n)
        problems = len(p.ks) * len(p.ds) * p.trials
        K, D = max(p.ks), max(p.ds)
        peak = max(peak, 4.0 * problems * (n * D + K * D) * 2 + 4.0 * problems * K * n * 3)
    kernels = 20.0 * steps * len(panels)
    return flops, peak, kernels


#: Fraction of the 15,000-step budget that runs of panel (a) (softplus, n = 100) take, by kd/n
#: band (upper bound of the band, fraction), measured with the shortcuts of the chapter.
PHASE_FRACTION_OF_BUDGET = ((1.3, 0.45), (1.6, 0.7), (2.0, 0.55), (2.5, 0.33), (3.0, 0.23),
                            (4.0, 0.17), (math.inf, 0.12))


def model_phase_transitions(small, full) -> Estimate:
    flops, peak, kernels = _phase_engine(full.paper + full.small_n, full.steps, give_up=True)
    return Estimate(flops, peak, kernels, "Figure-2 engine: products per step x measured steps")


def model_os_explore(small, full) -> Estimate:
    grid = tuple(range(1, full.max_width + 1)), tuple(range(1, full.max_dim + 1))

    @dataclass
    class P:
        n: int
        ks: tuple
        ds: tuple
        trials: int
    flops, peak, kernels = _phase_engine([P(full.n, grid[0], grid[1], full.trials)],
                                         full.steps, give_up=False,
                                         bands=((1.0, 1.0),) + PHASE_FRACTION_OF_BUDGET)
    return Estimate(flops, peak, kernels, "Figure-2 engine, no shortcuts (kd < n runs all steps)")


def _mlp_params(d_in: int, width: int, depth: int, d_out: int) -> int:
    dims = [d_in] + [width] * depth + [d_out]
    return sum(a * b + b for a, b in zip(dims, dims[1:]))


def _mlp_training(runs: list[tuple[int, int]], d_in, d_out, examples, batch) -> Estimate:
    """runs: (width, depth) of every training run; 6 flops per parameter and example."""
    flops = sum(6.0 * _mlp_params(d_in, m, L, d_out) * examples for m, L in runs)
    peak = max(4.0 * (3 * _mlp_params(d_in, m, L, d_out) + 2 * batch * (m * L + d_in))
               for m, L in runs)
    steps = examples / batch
    kernels = sum(steps * 8 * (L + 1) for _, L in runs)
    return Estimate(flops, peak, kernels, "SGD on MLPs: 6 x parameters x examples per run")


def model_gc_fig_mnist_mlp(small, full) -> Estimate:
    archs = [(full.depth_width, L) for L in full.depths] + \
            [(m, full.width_depth) for m in full.widths]
    # the Section 7 protocol: every step size of the grid trained for `epochs`, `runs` times
    runs = [a for a in archs for _ in range(full.runs * max(len(full.lrs), 1))]
    examples = full.epochs * (full.n_train // full.batch) * full.batch
    return _mlp_training(runs, 784, 10, examples, full.batch)


def model_gc_fig_mnist_training(small, full) -> Estimate:
    archs = sorted({(full.depth_width, L) for L in full.depths}
                   | {(m, full.width_depth) for m in full.widths})
    per_arch = 4 * full.runs * (len(full.lrs) + 1)           # + the nudged re-run of the best
    runs = [a for a in archs for _ in range(per_arch)]
    examples = full.epochs * (full.n_train // full.batch) * full.batch
    return _mlp_training(runs, 784, 10, examples, full.batch)


def model_ll_fig_mnist_variants(small, full) -> Estimate:
    runs = [(m, 1) for m in full.mnist_widths]
    return _mlp_training(runs, 784, 10, full.mnist_steps * full.mnist_b, full.mnist_b)


def _cnn_costs(net: torch.nn.Module, shape: tuple[int, ...]) -> tuple[float, float, int]:
    """Forward FLOPs of one example, activation numbers of one example, parameters."""
    from torch.utils.flop_counter import FlopCounterMode
    acts = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o.numel()))
             for m in net.modules() if not list(m.children())]
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return float(counter.get_total_flops()), float(sum(acts)), sum(
        p.numel() for p in net.parameters())


def _cnn_training(nets: list[tuple[torch.nn.Module, int]], shape, examples, batch,
                  label: str) -> Estimate:
    """nets: (architecture, number of runs); 3 forward passes per example (forward+backward)."""
    flops = peak = kernels = 0.0
    for net, count in nets:
        fwd, acts, params = _cnn_costs(net, shape)
        flops += count * 3 * fwd * examples
        peak = max(peak, 4.0 * (3 * params + 2 * batch * acts))
        kernels += count * (examples / batch) * 3 * sum(1 for _ in net.modules())
    return Estimate(flops, peak, kernels, label)


def model_gc_fig_batchnorm_skip(small, full) -> Estimate:
    from helpers import models, rng
    nets = []
    for depth in full.depths:
        for bn, skip in ((False, False), (False, True), (True, False), (True, True)):
            lrs = full.lrs_bn if bn else full.lrs_plain
            net = models.WideResNet(depth, full.width, 10, generator=rng.make_generator(0),
                                    batch_norm=bn, skip=skip)
            nets.append((net, len(lrs)))
    return _cnn_training(nets, (3, 32, 32), full.epochs * full.n_train, full.batch,
                         "SGD on WRNs (CIFAR-10): 3 forward passes per example")


def model_gc_fig_depth_width_cnn(small, full) -> Estimate:
    from helpers import models, rng
    archs = sorted({(d, full.depth_width) for d in full.depths}
                   | {(full.width_depth, w) for w in full.widths})
    nets = [(models.WideResNet(d, w, 10, generator=rng.make_generator(0), in_channels=3),
             len(full.lrs) * full.seeds) for d, w in archs]
    return _cnn_training(nets, (3, 32, 32), full.epochs * 50_000, full.batch,
                         "SGD on plain WRNs (CIFAR-10): 3 forward passes per example")


MODELS = {
    "os_fig_phase_transitions": model_phase_transitions,
    "os_explore": model_os_explore,
    "gc_fig_mnist_mlp": model_gc_fig_mnist_mlp,
    "gc_fig_mnist_training": model_gc_fig_mnist_training,
    "ll_fig_mnist_variants": model_ll_fig_mnist_variants,
    "gc_fig_batchnorm_skip": model_gc_fig_batchnorm_skip,
    "gc_fig_depth_width_cnn": model_gc_fig_depth_width_cnn,
}


# ----------------------------------------------------------------------------- report

def small_seconds(path: Path) -> dict[str, float]:
    """Per-notebook seconds from the first markdown table of ``docs/timings.md`` whose rows
    name a notebook (``chapters/<part>/<name>.md``) and a number of seconds."""
    out: dict[str, float] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = next((re.search(r"([\w]+)\.md", c) for c in cells if ".md" in c), None)
        nums = [float(c) for c in cells if re.fullmatch(r"\d+(\.\d+)?", c)]
        if name and nums and name.group(1) not in out:
            out[name.group(1)] = nums[0]
    return out


def matmul_rate(dtype=torch.float32, size: int = 1024) -> float:
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    a @ b
    times = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / sorted(times)[2]


def _fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.0f} s"


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "?"
    for prefix, size in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= size:
            return f"{x / size:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timings", type=Path, default=ROOT / "docs" / "timings.md")
    parser.add_argument("--cpu-flops", type=float, default=None,
                        help="float32 FLOP/s of this CPU (default: measure a matmul)")
    parser.add_argument("chapters", nargs="*", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    cpu = args.cpu_flops or matmul_rate()
    seconds = small_seconds(args.timings)
    chapters = [c.resolve() for c in args.chapters] or sorted((ROOT / "chapters").glob("*/*.md"))
    print(f"this CPU: {os.cpu_count()} cores, {torch.get_num_threads()} threads, float32 matmul"
          f" {cpu / 1e9:.1f} GFLOP/s (x{CPU_EFFICIENCY} assumed reached); reference GPU: H100,"
          f" {GPU_FLOPS / 1e12:.0f} TFLOP/s float32 (x{GPU_EFFICIENCY}), {GPU_LAUNCH * 1e6:.0f} us"
          " per kernel")
    print(f"small-scale seconds from {args.timings} ({len(seconds)} notebooks)\n")
    print("| chapter | FLOPs | peak memory | this CPU | H100 | model |")
    print("|---|---|---|---|---|---|")
    total_cpu = total_gpu = 0.0
    for md in chapters:
        pair = presets(md)
        if pair is None:
            continue
        small, full = pair
        stem = md.stem
        model = MODELS.get(stem)
        try:
            est = model(small, full) if model else generic(small, full)
        except Exception as err:                          # a model that no longer fits
            est = generic(small, full)
            est.model += f" (model failed: {type(err).__name__}: {err})"
        if est.flops is not None:
            t_cpu = est.flops / (cpu * CPU_EFFICIENCY)
            t_gpu = est.flops / (GPU_FLOPS * GPU_EFFICIENCY) + est.kernels * GPU_LAUNCH
            cpu_s, gpu_s = _fmt_seconds(t_cpu), _fmt_seconds(t_gpu)
        else:
            base = seconds.get(stem)
            lo, hi = est.factor
            if base is None:
                cpu_s, t_cpu = f"small x {lo:.3g}-{hi:.3g}", math.nan
            else:
                t_cpu = base * math.sqrt(lo * hi)
                cpu_s = f"{_fmt_seconds(base * lo)}-{_fmt_seconds(base * hi)}"
            t_gpu = t_cpu * cpu * CPU_EFFICIENCY / (GPU_FLOPS * GPU_EFFICIENCY)
            gpu_s = f"~{_fmt_seconds(t_gpu)}" if math.isfinite(t_gpu) else "?"
        if math.isfinite(t_cpu):
            total_cpu += t_cpu
            total_gpu += t_gpu
        rel = md.relative_to(ROOT / "chapters").with_suffix("")
        print(f"| {rel} | {_fmt(est.flops, 'FLOP')} | {_fmt(est.peak_bytes, 'B')} | {cpu_s} |"
              f" {gpu_s} | {est.model} |", flush=True)
    print(f"\ntotal (generic rows at the geometric mean of their range): this CPU"
          f" {_fmt_seconds(total_cpu)}, H100 {_fmt_seconds(total_gpu)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
